//! The wait graph: placeholder.
use crate::goroutines::RawGoroutine;
use crate::target::Target;
use gosleuth_memory::Memory;
use gosleuth_model::WaitObject;
pub(crate) fn wait_graph<M: Memory + Sync>(
    _t: &Target<M>,
    gs: &[RawGoroutine],
) -> (Vec<WaitObject>, Vec<Vec<u64>>) {
    (Vec::new(), vec![Vec::new(); gs.len()])
}
