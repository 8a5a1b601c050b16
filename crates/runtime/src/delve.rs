//! Delve's JSON shapes (`api.Goroutine`, `api.Location`, `api.Function`),
//! so `jq` scripts written against `dlv`'s JSON-RPC keep working.

use std::collections::BTreeMap;

use gosleuth_memory::Memory;
use gosleuth_model::Frame;
use serde::Serialize;

use crate::capture::{Capture, View};

/// `api.Function`.
#[derive(Debug, Clone, Serialize)]
pub struct Function {
    pub name: String,
    /// Entry pc.
    pub value: u64,
    #[serde(rename = "type")]
    pub kind: u8,
    #[serde(rename = "goType")]
    pub go_type: u64,
    pub optimized: bool,
}

/// `api.Location`.
#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub pc: u64,
    pub file: String,
    pub line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub function: Option<Function>,
}

/// `api.Goroutine`, plus the full stack when asked for.
#[derive(Debug, Clone, Serialize)]
pub struct Goroutine {
    pub id: u64,
    #[serde(rename = "currentLoc")]
    pub current_loc: Location,
    #[serde(rename = "userCurrentLoc")]
    pub user_current_loc: Location,
    #[serde(rename = "goStatementLoc")]
    pub go_statement_loc: Location,
    #[serde(rename = "startLoc")]
    pub start_loc: Location,
    #[serde(rename = "threadID")]
    pub thread_id: u64,
    pub status: u64,
    #[serde(rename = "waitSince")]
    pub wait_since: i64,
    #[serde(rename = "waitReason")]
    pub wait_reason: i64,
    pub unreadable: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// gosleuth's addition with `--stacks`: every frame, innermost first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stacktrace: Option<Vec<Location>>,
}

fn empty() -> Location {
    Location {
        pc: 0,
        file: String::new(),
        line: 0,
        function: None,
    }
}

impl<M: Memory> Capture<M> {
    /// Delve's `Location` of a frame.
    pub fn delve_location(&self, f: &Frame) -> Location {
        let pc = f.pc.unwrap_or(0);
        let entry = self
            .target
            .bin
            .pcln()
            .func_for_pc(self.target.link_pc(pc.wrapping_sub(1)))
            .map_or(0, |fi| fi.entry().wrapping_add(self.target.bias));
        Location {
            pc,
            file: f.file.clone(),
            line: f.line,
            function: Some(Function {
                // Tracebacks print runtime.gopanic as `panic`; Delve names it.
                name: if f.function == "panic" {
                    "runtime.gopanic".to_string()
                } else {
                    f.function.clone()
                },
                value: if f.inlined { 0 } else { entry },
                kind: 0,
                go_type: 0,
                optimized: true,
            }),
        }
    }

    /// Delve's `api.Goroutine` for goroutine `i`.
    pub fn delve_goroutine(&self, i: usize, with_stack: bool) -> Goroutine {
        let v: View<'_, M> = self.view(i);
        let g = v.raw();
        let frames: Vec<&Frame> = v.frame_iter().collect();
        let current = frames
            .first()
            .map_or_else(empty, |f| self.delve_location(f));
        let user = frames
            .iter()
            .find(|f| !f.is_runtime())
            .map_or_else(|| current.clone(), |f| self.delve_location(f));
        let site = |f: Option<Frame>| f.map_or_else(empty, |f| self.delve_location(&f));
        let mut go_stmt = site(v.created_by_frame());
        go_stmt.pc = g.gopc;
        let mut start = site(v.start());
        start.pc = g.startpc;
        Goroutine {
            id: g.id,
            current_loc: current,
            user_current_loc: user,
            go_statement_loc: go_stmt,
            start_loc: start,
            thread_id: g.thread.unwrap_or(0),
            status: u64::from(g.status),
            wait_since: g.waitsince,
            wait_reason: i64::from(g.wait_reason),
            unreadable: String::new(),
            labels: self.labels.get(i).into_iter().flatten().cloned().collect(),
            stacktrace: with_stack.then(|| frames.iter().map(|f| self.delve_location(f)).collect()),
        }
    }
}
