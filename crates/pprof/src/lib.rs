//! pprof profiles: decoding, reports and flame graphs.
