//! Renderers: terminal text and JSON for gosleuth's models.
