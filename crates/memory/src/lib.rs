//! Memory sources: ELF core files and live processes behind one trait.
