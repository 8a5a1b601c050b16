//! The rules, and what they share: one pass over the goroutines that
//! finds where each is blocked (its site) and indexes them by id, and the
//! aggregation of goroutines into sites.
//!
//! A million-goroutine snapshot spends most of its time in cache misses on
//! frame strings, so each goroutine's frames are read once, in
//! [`Env::new`]; the rules then work on site numbers.

mod channel;
mod leak;
mod locks;
mod pileup;
mod process;

use gosleuth_model::{Frame, Goroutine, Group};

use crate::finding::{FrameEvidence, FrameRole, Site};
use crate::stack::{Ctx, maybe_blocked, wait_minutes};
use crate::{Finding, Options, Subject};
use rustc_hash::FxHashMap as FxMap;

pub(crate) use leak::growth;

/// Most frames of one goroutine's chain in a finding.
const MAX_CHAIN: usize = 32;

/// No site: the goroutine has no frames.
const NO_SITE: u32 = u32::MAX;

/// What the first pass learns of one goroutine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Info {
    /// Index into [`Env::sites`].
    pub site: u32,
    /// Every frame is runtime code (GC workers, the finalizer...).
    pub runtime_only: bool,
    /// A frame panics or throws.
    pub raises: bool,
}

/// A place goroutines are blocked: a state and the blocking frame.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SiteDef<'a> {
    pub state: &'a str,
    pub frame: &'a Frame,
    /// The `go` statement of the first goroutine seen there.
    pub created_by: Option<&'a Frame>,
    /// The blocking frame or the `go` statement is application code.
    pub app: bool,
}

/// Goroutines per thread below which the first pass is not split.
const PARALLEL_MIN: usize = 50_000;

type SiteKey<'a> = (&'a str, &'a str, &'a str, u32);

impl<'a> SiteDef<'a> {
    fn key(&self) -> SiteKey<'a> {
        (
            self.state,
            self.frame.function.as_str(),
            self.frame.file.as_str(),
            self.frame.line,
        )
    }
}

/// The first pass over a run of goroutines: their infos, with site
/// numbers local to this part.
struct Part<'a> {
    info: Vec<Info>,
    sites: Vec<SiteDef<'a>>,
}

fn scan<'a>(ctx: &Ctx, goroutines: &'a [Goroutine]) -> Part<'a> {
    let mut info = Vec::with_capacity(goroutines.len());
    let mut sites: Vec<SiteDef<'a>> = Vec::new();
    let mut index: FxMap<SiteKey<'a>, u32> = FxMap::default();
    for g in goroutines {
        let (blocking, runtime_only) = ctx.blocking_frame_and_runtime_only(&g.frames);
        let raises = g.frames.iter().any(|f| raise_kind(&f.function).is_some());
        let site = match blocking {
            None => NO_SITE,
            Some((_, frame)) => {
                let state = g.state_or_status();
                let key = (
                    state,
                    frame.function.as_str(),
                    frame.file.as_str(),
                    frame.line,
                );
                *index.entry(key).or_insert_with(|| {
                    let created_by = g.created_by.as_ref();
                    sites.push(SiteDef {
                        state,
                        frame,
                        created_by,
                        app: ctx.is_app(frame) || created_by.is_some_and(|f| ctx.is_app(f)),
                    });
                    (sites.len() - 1) as u32
                })
            }
        };
        info.push(Info {
            site,
            runtime_only,
            raises,
        });
    }
    Part { info, sites }
}

/// Functions on the stack of a goroutine that is panicking or throwing.
pub(crate) fn raise_kind(function: &str) -> Option<gosleuth_model::IncidentKind> {
    use gosleuth_model::IncidentKind;
    match function {
        "panic" | "runtime.gopanic" | "runtime.fatalpanic" => Some(IncidentKind::Panic),
        "runtime.throw" | "runtime.fatalthrow" | "runtime.fatal" => Some(IncidentKind::Fatal),
        _ => None,
    }
}

/// Everything a rule needs besides the subject.
pub(crate) struct Env<'a> {
    pub subject: &'a Subject,
    pub ctx: Ctx,
    pub opts: &'a Options,
    /// Per goroutine, in snapshot order.
    pub info: Vec<Info>,
    pub sites: Vec<SiteDef<'a>>,
    /// Goroutine id -> index.
    by_id: IdIndex,
}

/// Goroutine id -> index into the snapshot: a table when ids are dense
/// (the usual case: the runtime hands out ids in order), else a map.
enum IdIndex {
    Dense(Vec<u32>),
    Map(FxMap<u64, u32>),
}

impl IdIndex {
    fn new(goroutines: &[Goroutine]) -> IdIndex {
        let max = goroutines.iter().map(|g| g.id).max().unwrap_or(0);
        let n = goroutines.len() as u64;
        if max <= n.saturating_mul(4).saturating_add(4096) {
            let mut t = vec![u32::MAX; max as usize + 1];
            for (i, g) in goroutines.iter().enumerate() {
                if let Some(slot) = t.get_mut(g.id as usize) {
                    if *slot == u32::MAX {
                        *slot = i as u32;
                    }
                }
            }
            IdIndex::Dense(t)
        } else {
            let mut m = FxMap::default();
            m.reserve(goroutines.len());
            for (i, g) in goroutines.iter().enumerate() {
                m.entry(g.id).or_insert(i as u32);
            }
            IdIndex::Map(m)
        }
    }

    fn get(&self, id: u64) -> Option<u32> {
        match self {
            IdIndex::Dense(t) => usize::try_from(id)
                .ok()
                .and_then(|i| t.get(i))
                .copied()
                .filter(|&i| i != u32::MAX),
            IdIndex::Map(m) => m.get(&id).copied(),
        }
    }
}

impl<'a> Env<'a> {
    pub fn new(subject: &'a Subject, opts: &'a Options) -> Env<'a> {
        let goroutines = &subject.snapshot.goroutines;
        let ctx = Ctx::learn(goroutines);
        // Reading every goroutine's frames is the expensive part: split it
        // over the cores, each part with its own site table, then merge
        // the (few) sites.
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 16)
            .min(goroutines.len().div_ceil(PARALLEL_MIN).max(1));
        let chunk = goroutines.len().div_ceil(threads).max(1);
        let parts: Vec<Part<'a>> = if threads <= 1 {
            vec![scan(&ctx, goroutines)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = goroutines
                    .chunks(chunk)
                    .map(|c| {
                        let ctx = &ctx;
                        scope.spawn(move || scan(ctx, c))
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        let mut info = Vec::with_capacity(goroutines.len());
        let mut sites: Vec<SiteDef<'a>> = Vec::new();
        let mut index: FxMap<SiteKey<'a>, u32> = FxMap::default();
        for part in parts {
            let remap: Vec<u32> = part
                .sites
                .iter()
                .map(|d| {
                    *index.entry(d.key()).or_insert_with(|| {
                        sites.push(*d);
                        (sites.len() - 1) as u32
                    })
                })
                .collect();
            info.extend(part.info.into_iter().map(|mut x| {
                if let Some(&global) = remap.get(x.site as usize) {
                    x.site = global;
                }
                x
            }));
        }
        let by_id = IdIndex::new(goroutines);
        Env {
            subject,
            ctx,
            opts,
            info,
            sites,
            by_id,
        }
    }

    pub fn goroutines(&self) -> &'a [Goroutine] {
        &self.subject.snapshot.goroutines
    }

    /// The goroutine with an id.
    pub fn goroutine(&self, id: u64) -> Option<&'a Goroutine> {
        let i = self.index_of(id)?;
        self.subject.snapshot.goroutines.get(i as usize)
    }

    /// The index of the goroutine with an id.
    pub fn index_of(&self, id: u64) -> Option<u32> {
        self.by_id
            .get(id)
            .filter(|&i| (i as usize) < self.subject.snapshot.goroutines.len())
    }

    /// The site number of the goroutine with an id.
    pub fn site_of(&self, id: u64) -> Option<u32> {
        let i = self.index_of(id)?;
        self.info.get(i as usize).map(|x| x.site)
    }

    /// `blocked_at` evidence for a goroutine.
    pub fn blocked_at(&self, g: &Goroutine) -> Option<FrameEvidence> {
        self.ctx
            .blocking_frame(&g.frames)
            .map(|(_, f)| FrameEvidence::new(FrameRole::BlockedAt, Some(g.id), f))
    }

    /// A goroutine's chain of frames from where it is blocked out to its
    /// outermost frame (inlined calls included), as evidence: the blocking
    /// frame `blocked_at`, the frame at index `mark` with role `mark_role`,
    /// the others `called_from`; then where it started (`started_at`).
    /// At most [`MAX_CHAIN`] frames.
    pub fn chain(&self, g: &Goroutine, mark: Option<(usize, FrameRole)>) -> Vec<FrameEvidence> {
        let mut out = Vec::new();
        let mut marked = false;
        let first = self.ctx.blocking_frame(&g.frames).map_or(0, |(i, _)| i);
        for (i, f) in g.frames.iter().enumerate().skip(first) {
            if f.function == "runtime.goexit" || out.len() >= MAX_CHAIN {
                break;
            }
            if is_go_wrapper(&f.function) {
                continue;
            }
            let role = match mark {
                _ if i == first => FrameRole::BlockedAt,
                Some((m, role)) if m == i => {
                    marked = true;
                    role
                }
                _ => FrameRole::CalledFrom,
            };
            out.push(FrameEvidence::new(role, Some(g.id), f));
        }
        // The marked frame even when the chain was cut short.
        if let Some((m, role)) = mark {
            if !marked && m != first {
                if let Some(f) = g.frames.get(m) {
                    out.push(FrameEvidence::new(role, Some(g.id), f));
                }
            }
        }
        if let Some(f) = self.started(g) {
            out.push(FrameEvidence::new(FrameRole::StartedAt, Some(g.id), f));
        }
        out
    }

    /// `f at file:line (inlined), called from g at file:line, ...` for
    /// prose: the chain of [`Env::chain`] without its start.
    pub fn chain_prose(&self, chain: &[FrameEvidence]) -> String {
        let parts: Vec<String> = chain
            .iter()
            .filter(|f| f.role != FrameRole::StartedAt)
            .map(|f| {
                format!(
                    "{} at {}:{}{}",
                    f.function,
                    self.ctx.short(&f.file),
                    f.line,
                    if f.inlined { " (inlined)" } else { "" }
                )
            })
            .collect();
        parts.join(", called from ")
    }

    /// `state in function at file:line` for prose.
    pub fn doing(&self, g: &Goroutine) -> String {
        match self.ctx.blocking_frame(&g.frames) {
            Some((_, f)) => format!("{} in {}", g.state_or_status(), self.ctx.at(f)),
            None => g.state_or_status().to_string(),
        }
    }

    /// Where a goroutine started: the memory source's start function
    /// (unless it is the compiler's `go` statement wrapper), else the
    /// outermost frame.
    pub fn started<'g>(&self, g: &'g Goroutine) -> Option<&'g Frame> {
        match &g.start {
            Some(f) if !is_go_wrapper(&f.function) => Some(f),
            _ => g
                .frames
                .iter()
                .rev()
                .find(|f| f.function != "runtime.goexit" && !is_go_wrapper(&f.function))
                .or(g.start.as_ref()),
        }
    }

    /// Aggregates the goroutines at `indices` by site.
    pub fn aggregate(&self, indices: impl Iterator<Item = u32>) -> Vec<SiteAgg<'a>> {
        let gs = self.goroutines();
        let mut slot: FxMap<u32, usize> = FxMap::default();
        let mut out: Vec<SiteAgg<'a>> = Vec::new();
        for i in indices {
            let (Some(g), Some(info)) = (gs.get(i as usize), self.info.get(i as usize)) else {
                continue;
            };
            let Some(def) = self.sites.get(info.site as usize) else {
                continue;
            };
            let k = *slot.entry(info.site).or_insert_with(|| {
                out.push(SiteAgg::new(info.site, def));
                out.len() - 1
            });
            out[k].add(g, i, self.opts.max_ids);
        }
        sort_sites(&mut out);
        out
    }
}

/// The functions the compiler writes for `go f(x)` (`main.f.gowrap1`,
/// Go 1.21+; `main.main·dwrap·1` before).
pub(crate) fn is_go_wrapper(function: &str) -> bool {
    let last = function.rsplit('.').next().unwrap_or(function);
    last.starts_with("gowrap") || function.contains("·dwrap·")
}

pub(crate) trait StateText {
    fn state_or_status(&self) -> &str;
}

impl StateText for Goroutine {
    fn state_or_status(&self) -> &str {
        if self.state.is_empty() {
            self.status.as_str()
        } else {
            &self.state
        }
    }
}

/// Runs the rules that look at one subject.
pub(crate) fn run(subject: &Subject, opts: &Options) -> Vec<Finding> {
    let env = Env::new(subject, opts);
    let mut out = Vec::new();
    match subject.source {
        crate::Source::Memory => out.extend(channel::self_deadlock(&env)),
        crate::Source::Text => out.extend(channel::text_self_deadlock(&env)),
        crate::Source::Trace => {}
    }
    out.extend(locks::lock_order(&env));
    out.extend(process::crashes(&env));
    out.extend(process::all_asleep(&env));
    out.extend(pileup::pile_ups(&env));
    out.extend(leak::long_network_reads(&env));
    out.extend(process::runaway(&env));
    out
}

/// Goroutines at one site.
pub(crate) struct SiteAgg<'a> {
    /// The site number ([`NO_SITE`] for sites made from groups).
    pub id: u32,
    pub state: &'a str,
    pub frame: &'a Frame,
    pub created_by: Option<&'a Frame>,
    pub count: u64,
    pub ids: Vec<u64>,
    /// Indices of the goroutines (into the snapshot) at this site.
    pub members: Vec<u32>,
    pub wait_max: Option<u64>,
    /// Application code is involved.
    pub app: bool,
}

impl<'a> SiteAgg<'a> {
    fn new(id: u32, def: &SiteDef<'a>) -> SiteAgg<'a> {
        SiteAgg {
            id,
            state: def.state,
            frame: def.frame,
            created_by: def.created_by,
            count: 0,
            ids: Vec::new(),
            members: Vec::new(),
            wait_max: None,
            app: def.app,
        }
    }

    fn add(&mut self, g: &Goroutine, index: u32, max_ids: usize) {
        self.count += g.count.max(1);
        if self.ids.len() < max_ids && g.id != 0 {
            self.ids.push(g.id);
        }
        self.members.push(index);
        self.wait_max = self.wait_max.max(wait_minutes(g));
    }

    /// The frame they are blocked at and the `go` statement that created
    /// them, as evidence (on the first goroutine).
    pub fn frames(&self) -> Vec<FrameEvidence> {
        let first = self.ids.first().copied();
        let mut frames = vec![FrameEvidence::new(FrameRole::BlockedAt, first, self.frame)];
        if let Some(c) = self.created_by {
            frames.push(FrameEvidence::new(FrameRole::CreatedAt, first, c));
        }
        frames
    }

    pub fn site(&self, max_ids: usize) -> Site {
        Site {
            state: self.state.to_string(),
            function: self.frame.function.clone(),
            file: self.frame.file.clone(),
            line: self.frame.line,
            count: self.count,
            goroutines: self.ids.iter().take(max_ids).copied().collect(),
            created_by: self.created_by.map(|f| f.function.clone()),
        }
    }
}

/// Largest first, then by the first goroutine id.
fn sort_sites(v: &mut [SiteAgg<'_>]) {
    v.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(a.ids.first().cmp(&b.ids.first()))
    });
}

/// Sites of grouped goroutines (text incidents other than the one in the
/// snapshot).
pub(crate) fn group_sites<'a>(ctx: &Ctx, groups: &'a [Group], max_ids: usize) -> Vec<SiteAgg<'a>> {
    let mut index: FxMap<SiteKey<'a>, usize> = FxMap::default();
    let mut out: Vec<SiteAgg<'a>> = Vec::new();
    for g in groups {
        let Some((_, frame)) = ctx.blocking_frame(&g.frames) else {
            continue;
        };
        let key = (
            g.state.as_str(),
            frame.function.as_str(),
            frame.file.as_str(),
            frame.line,
        );
        let k = *index.entry(key).or_insert_with(|| {
            let created_by = g.created_by.as_ref();
            out.push(SiteAgg::new(
                NO_SITE,
                &SiteDef {
                    state: &g.state,
                    frame,
                    created_by,
                    app: ctx.is_app(frame) || created_by.is_some_and(|f| ctx.is_app(f)),
                },
            ));
            out.len() - 1
        });
        let s = &mut out[k];
        s.count += g.count.max(1);
        for &id in &g.ids {
            if s.ids.len() >= max_ids {
                break;
            }
            s.ids.push(id);
        }
        s.wait_max = s.wait_max.max(g.wait_max);
    }
    sort_sites(&mut out);
    out
}

/// Sites of the blocked goroutines (and records without a state) that
/// `filter` keeps.
pub(crate) fn blocked_sites<'a>(
    env: &Env<'a>,
    filter: impl Fn(&Goroutine, &Info) -> bool,
) -> Vec<SiteAgg<'a>> {
    let gs = env.goroutines();
    env.aggregate(
        gs.iter()
            .zip(&env.info)
            .enumerate()
            .filter(|(_, (g, info))| maybe_blocked(g) && filter(g, info))
            .map(|(i, _)| i as u32),
    )
}

/// `N in state at function (file:line)` for prose, one per site.
pub(crate) fn describe_sites(ctx: &Ctx, sites: &[Site], max: usize) -> String {
    let mut parts: Vec<String> = sites
        .iter()
        .take(max)
        .map(|s| {
            let state = if s.state.is_empty() || s.state == "unknown" {
                String::from("(state not recorded)")
            } else {
                format!("in {}", s.state)
            };
            format!(
                "{} {state} at {} ({}:{})",
                s.count,
                s.function,
                ctx.short(&s.file),
                s.line
            )
        })
        .collect();
    if sites.len() > max {
        let rest: u64 = sites[max..].iter().map(|s| s.count).sum();
        parts.push(format!("{rest} elsewhere"));
    }
    parts.join("; ")
}

/// Percent, rounded down, for prose.
pub(crate) fn percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        0
    } else {
        (u128::from(part) * 100 / u128::from(whole)) as u64
    }
}

/// `s` with its first letter in upper case.
pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
