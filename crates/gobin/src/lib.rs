//! Reading Go binaries: symbols, lines, inlining, build info and DWARF.
