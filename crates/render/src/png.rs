//! PNG from the SVGs gosleuth draws (the package graph today, the pprof
//! call graph when it lands): rasterised by resvg, no Graphviz and no
//! browser. The labels need a font: [`Fonts::system`] loads the system's
//! (the one place this crate reads files); without one the labels would
//! silently vanish, so that is an error naming the package to install.

use std::fmt;
use std::sync::Arc;

use resvg::tiny_skia;
use resvg::usvg;

/// Most pixels a PNG may have (a 8192 x 8192 image, 256 MiB while drawn):
/// a graph larger than that is unreadable as a picture anyway.
pub const MAX_PIXELS: u64 = 8192 * 8192;

/// Why a PNG was not drawn.
#[derive(Debug)]
pub enum PngError {
    /// No font was found to draw the labels with.
    NoFonts,
    /// The SVG did not parse (a bug in the SVG writer).
    Svg(String),
    /// The image would have more than [`MAX_PIXELS`].
    TooLarge { width: u32, height: u32 },
    /// The encoder failed.
    Encode(String),
}

impl fmt::Display for PngError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PngError::NoFonts => write!(
                f,
                "no font on this system to draw the labels with: install one (Debian: apt-get install fonts-dejavu-core), or write --format svg"
            ),
            PngError::Svg(e) => write!(f, "the drawing is not valid SVG ({e}): please report it"),
            PngError::TooLarge { width, height } => write!(
                f,
                "the picture would be {width} x {height} pixels, more than {MAX_PIXELS} pixels: narrow the graph (fewer packages) or write --format svg"
            ),
            PngError::Encode(e) => write!(f, "encoding the PNG failed: {e}"),
        }
    }
}

impl std::error::Error for PngError {}

/// The fonts labels are drawn with.
#[derive(Clone)]
pub struct Fonts {
    db: Arc<usvg::fontdb::Database>,
}

impl Fonts {
    /// The system's fonts (fontconfig's directories, `/usr/share/fonts`
    /// and the like); [`PngError::NoFonts`] when there are none.
    pub fn system() -> Result<Fonts, PngError> {
        let mut db = usvg::fontdb::Database::new();
        db.load_system_fonts();
        Fonts::from_db(db)
    }

    /// Fonts from font files' bytes (TrueType, OpenType or collections).
    pub fn from_data(files: Vec<Vec<u8>>) -> Result<Fonts, PngError> {
        let mut db = usvg::fontdb::Database::new();
        for data in files {
            db.load_font_data(data);
        }
        Fonts::from_db(db)
    }

    fn from_db(mut db: usvg::fontdb::Database) -> Result<Fonts, PngError> {
        let Some(family) = db.faces().next().and_then(|f| f.families.first()) else {
            return Err(PngError::NoFonts);
        };
        // `sans-serif` resolves to a face that exists: DejaVu Sans or
        // Liberation Sans when installed, else whatever was found.
        let first = family.0.clone();
        let sans = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "FreeSans"]
            .into_iter()
            .find(|name| {
                db.faces()
                    .any(|f| f.families.iter().any(|(n, _)| n == name))
            })
            .map_or(first, str::to_string);
        db.set_sans_serif_family(sans);
        Ok(Fonts { db: Arc::new(db) })
    }
}

/// Rasterises `svg` at `scale` (1.0 is the SVG's own size, 96 dpi) on a
/// white background and encodes it as PNG.
pub fn from_svg(svg: &str, fonts: &Fonts, scale: f32) -> Result<Vec<u8>, PngError> {
    let options = usvg::Options {
        fontdb: fonts.db.clone(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| PngError::Svg(e.to_string()))?;
    let size = tree.size();
    let scale = if scale.is_finite() && scale > 0.0 {
        scale
    } else {
        1.0
    };
    let width = (size.width() * scale).ceil().max(1.0) as u32;
    let height = (size.height() * scale).ceil().max(1.0) as u32;
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(PngError::TooLarge { width, height });
    }
    let mut pixmap =
        tiny_skia::Pixmap::new(width, height).ok_or(PngError::TooLarge { width, height })?;
    pixmap.fill(tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(scale, scale),
        &mut pixmap.as_mut(),
    );
    pixmap
        .encode_png()
        .map_err(|e| PngError::Encode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LABEL: &str = r#"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="40" font-family="sans-serif" font-size="12"><text x="10" y="25">example.com/depmod/store</text></svg>"#;

    /// Dark pixels in the image.
    fn ink(png: &[u8]) -> (u32, u32, usize) {
        let p = tiny_skia::Pixmap::decode_png(png).expect("decodes");
        let dark = p
            .pixels()
            .iter()
            .filter(|c| c.red() < 128 && c.alpha() > 0)
            .count();
        (p.width(), p.height(), dark)
    }

    #[test]
    fn labels_are_drawn_with_the_system_fonts() {
        // CI installs fonts-dejavu-core; a machine without fonts gets the
        // error the next test checks.
        let Ok(fonts) = Fonts::system() else {
            panic!("no system fonts: apt-get install fonts-dejavu-core");
        };
        let (w, h, dark) = ink(&from_svg(LABEL, &fonts, 1.0).expect("draws"));
        assert_eq!((w, h), (200, 40));
        assert!(dark > 100, "the label drew {dark} dark pixels");
        let (w, h, _) = ink(&from_svg(LABEL, &fonts, 2.0).expect("draws"));
        assert_eq!((w, h), (400, 80));
    }

    #[test]
    fn no_fonts_and_huge_pictures_are_errors() {
        assert!(matches!(
            Fonts::from_data(Vec::new()),
            Err(PngError::NoFonts)
        ));
        let Ok(fonts) = Fonts::system() else { return };
        let huge =
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="100000" height="100000"></svg>"#;
        let e = from_svg(huge, &fonts, 1.0).expect_err("too large");
        assert!(e.to_string().contains("100000 x 100000 pixels"), "{e}");
        let e = from_svg("<svg", &fonts, 1.0).expect_err("not SVG");
        assert!(matches!(e, PngError::Svg(_)), "{e}");
    }
}
