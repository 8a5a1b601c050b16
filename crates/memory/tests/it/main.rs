//! Integration tests of gosleuth-memory on real cores and real processes
//! made by the evidence factory (`factory/factory.py`).

mod core;
mod dump;
mod live;
mod mutate;
mod support;
