//! Which printer a report goes to: `go tool pprof`'s text reports
//! ([`crate::report`]), `-list` ([`crate::source`]), flame graphs
//! ([`crate::flame`]), `-proto`, `-raw` and `-comments`. Kept apart from
//! `report` so that the printers depend on [`Report`] and nothing depends
//! back on them.

use crate::error::{Error, Result};
use crate::report::{self, Format, Report};

/// Produces the report bytes for `rpt`.
pub fn generate(rpt: &mut Report) -> Result<Vec<u8>> {
    match rpt.cfg.format.clone() {
        Format::Top => Ok(report::print_text(rpt).into_bytes()),
        Format::Traces => Ok(report::print_traces(rpt).into_bytes()),
        Format::Tree => report::print_tree(rpt, None).map(String::into_bytes),
        Format::Peek(re) => {
            let rx = report::compile("peek", &re)?
                .ok_or_else(|| Error::Usage("-peek needs a regexp".into()))?;
            report::print_tree(rpt, Some(&rx)).map(String::into_bytes)
        }
        Format::List(re) => crate::source::print_source(rpt, &re).map(String::into_bytes),
        Format::Proto => {
            let mut p = rpt.prof.clone();
            if rpt.ratio > 0.0 && rpt.ratio != 1.0 {
                for v in p.samples.all_values_mut() {
                    *v = (*v as f64 * rpt.ratio) as i64;
                }
            }
            let mut out = Vec::new();
            crate::proto::write_gzip(&p, &mut out).map_err(|e| Error::Io {
                path: "-proto output".into(),
                source: e,
            })?;
            Ok(out)
        }
        Format::Raw => Ok(crate::raw::raw_string(&rpt.prof, rpt.cfg.zone()).into_bytes()),
        Format::Comments => {
            let mut s = String::new();
            for c in &rpt.prof.comments {
                s.push_str(c);
                s.push('\n');
            }
            Ok(s.into_bytes())
        }
        Format::Folded => Ok(crate::flame::folded(rpt).into_bytes()),
        Format::FlameSvg => Ok(crate::flame::svg(rpt).into_bytes()),
        Format::Speedscope => Ok(crate::flame::speedscope(rpt).into_bytes()),
    }
}
