//! Parsers for Go's text evidence.
