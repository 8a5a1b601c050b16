//! Factory tests of the sampler.
