//! Units and number formatting, matching pprof's `internal/measurement`.

struct Unit {
    canonical: &'static str,
    aliases: &'static [&'static str],
    factor: f64,
}

struct UnitType {
    default: (&'static str, f64),
    units: &'static [Unit],
}

const UNIT_TYPES: &[UnitType] = &[
    UnitType {
        default: ("B", 1.0),
        units: &[
            Unit {
                canonical: "B",
                aliases: &["b", "byte"],
                factor: 1.0,
            },
            Unit {
                canonical: "kB",
                aliases: &["kb", "kbyte", "kilobyte"],
                factor: 1024.0,
            },
            Unit {
                canonical: "MB",
                aliases: &["mb", "mbyte", "megabyte"],
                factor: 1048576.0,
            },
            Unit {
                canonical: "GB",
                aliases: &["gb", "gbyte", "gigabyte"],
                factor: 1073741824.0,
            },
            Unit {
                canonical: "TB",
                aliases: &["tb", "tbyte", "terabyte"],
                factor: 1099511627776.0,
            },
            Unit {
                canonical: "PB",
                aliases: &["pb", "pbyte", "petabyte"],
                factor: 1125899906842624.0,
            },
        ],
    },
    UnitType {
        default: ("s", 1e9),
        units: &[
            Unit {
                canonical: "ns",
                aliases: &["ns", "nanosecond"],
                factor: 1.0,
            },
            Unit {
                canonical: "us",
                aliases: &["μs", "us", "microsecond"],
                factor: 1e3,
            },
            Unit {
                canonical: "ms",
                aliases: &["ms", "millisecond"],
                factor: 1e6,
            },
            Unit {
                canonical: "s",
                aliases: &["s", "sec", "second"],
                factor: 1e9,
            },
            Unit {
                canonical: "hrs",
                aliases: &["hour", "hr"],
                factor: 3600e9,
            },
        ],
    },
    UnitType {
        default: ("GCU", 1.0),
        units: &[
            Unit {
                canonical: "n*GCU",
                aliases: &["nanogcu"],
                factor: 1e-9,
            },
            Unit {
                canonical: "u*GCU",
                aliases: &["microgcu"],
                factor: 1e-6,
            },
            Unit {
                canonical: "m*GCU",
                aliases: &["milligcu"],
                factor: 1e-3,
            },
            Unit {
                canonical: "GCU",
                aliases: &["gcu"],
                factor: 1.0,
            },
            Unit {
                canonical: "k*GCU",
                aliases: &["kilogcu"],
                factor: 1e3,
            },
            Unit {
                canonical: "M*GCU",
                aliases: &["megagcu"],
                factor: 1e6,
            },
            Unit {
                canonical: "G*GCU",
                aliases: &["gigagcu"],
                factor: 1e9,
            },
            Unit {
                canonical: "T*GCU",
                aliases: &["teragcu"],
                factor: 1e12,
            },
            Unit {
                canonical: "P*GCU",
                aliases: &["petagcu"],
                factor: 1e15,
            },
        ],
    },
];

impl UnitType {
    fn sniff(&self, unit: &str) -> Option<&'static Unit> {
        let mut u = unit.to_lowercase();
        if u.len() > 2 {
            if let Some(x) = u.strip_suffix('s') {
                u = x.to_string();
            }
        }
        self.units.iter().find(|x| x.aliases.contains(&u.as_str()))
    }

    fn auto_scale(&self, v: f64) -> Option<(f64, &'static str)> {
        let mut f = 0.0;
        let mut unit = "";
        for u in self.units {
            if u.factor >= f && v / u.factor >= 1.0 {
                f = u.factor;
                unit = u.canonical;
            }
        }
        (f != 0.0).then(|| (v / f, unit))
    }

    fn convert(&self, value: i64, from: &str, to: &str) -> Option<(f64, &'static str)> {
        let fu = self.sniff(from)?;
        let v = value as f64 * fu.factor;
        if to == "minimum" || to == "auto" {
            if let Some(r) = self.auto_scale(v) {
                return Some(r);
            }
            return Some((v / self.default.1, self.default.0));
        }
        match self.sniff(to) {
            None => Some((v / self.default.1, self.default.0)),
            Some(tu) => Some((v / tu.factor, tu.canonical)),
        }
    }
}

/// Converts `value` from `from` units to `to` units (or the best unit
/// for `minimum`/`auto`), returning the scaled value and unit name.
pub fn scale(value: i64, from: &str, to: &str) -> (f64, String) {
    if value < 0 && value != i64::MIN {
        let (v, u) = scale(-value, from, to);
        return (-v, u);
    }
    for ut in UNIT_TYPES {
        if let Some((v, u)) = ut.convert(value, from, to) {
            return (v, u.to_string());
        }
    }
    match to {
        "count" | "sample" | "unit" | "minimum" | "auto" => (value as f64, String::new()),
        _ => (value as f64, to.to_string()),
    }
}

/// `value` formatted in the best unit.
pub fn label(value: i64, unit: &str) -> String {
    scaled_label(value, unit, "auto")
}

/// `value` converted and formatted with two decimals, trailing `.00` dropped.
pub fn scaled_label(value: i64, from: &str, to: &str) -> String {
    let (v, u) = scale(value, from, to);
    let s = format!("{v:.2}");
    let s = s.strip_suffix(".00").unwrap_or(&s);
    if s == "0" || s == "-0" {
        return "0".to_string();
    }
    format!("{s}{u}")
}

/// `value` as a percentage of `total`, formatted like pprof (`  100%`,
/// `%5.2f%%`, `%5.2g%%`).
pub fn percentage(value: i64, total: i64) -> String {
    let ratio = if total != 0 {
        (value as f64 / total as f64).abs() * 100.0
    } else {
        0.0
    };
    if (99.95..=100.05).contains(&ratio) {
        "  100%".to_string()
    } else if ratio >= 1.0 {
        format!("{ratio:5.2}%")
    } else {
        format!("{:>5}%", go_g2(ratio))
    }
}

/// Go's `%.2g` for a non-negative float.
pub fn go_g2(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else {
            "+Inf".into()
        };
    }
    // Round to 2 significant digits via exponent formatting.
    let e = format!("{x:.1e}"); // like "1.2e-5"
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..2).contains(&exp) {
        let mant = mant.trim_end_matches('0').trim_end_matches('.');
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (1 - exp).max(0) as usize;
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages() {
        assert_eq!(percentage(1, 1), "  100%");
        assert_eq!(percentage(5, 100), " 5.00%");
        assert_eq!(percentage(5, 1000), "  0.5%");
        assert_eq!(percentage(1, 3000), "0.033%");
        assert_eq!(percentage(0, 10), "    0%");
        assert_eq!(percentage(1, 1_000_000_000), "1e-07%");
        assert_eq!(go_g2(0.0123), "0.012");
        assert_eq!(go_g2(0.99), "0.99");
        assert_eq!(go_g2(0.996), "1");
    }

    #[test]
    fn labels() {
        assert_eq!(scaled_label(990_000_000, "nanoseconds", "ms"), "990ms");
        assert_eq!(label(1_500_000_000, "nanoseconds"), "1.50s");
        assert_eq!(scaled_label(11_730_000, "bytes", "MB"), "11.19MB");
        assert_eq!(scaled_label(0, "bytes", "MB"), "0");
        assert_eq!(scaled_label(42, "count", "minimum"), "42");
    }
}
