//! Integration tests of gosleuth-escape.
