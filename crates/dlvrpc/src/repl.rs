//! A REPL with `dlv`'s commands over a [`Session`]: `goroutines`,
//! `goroutine`, `stack`, `frame`, `up`, `down`, `print`, `locals`, `args`,
//! `regs`, `list`, ... Output follows `dlv`'s layouts, so habits (and
//! scripts that read the output) carry over.
//!
//! On a terminal it edits lines with history and tab completion; from a
//! pipe or a file it reads one command per line and prints no prompt.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt::Write as _;
use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::rc::Rc;

use crate::api::{Goroutine, Location, Stackframe};
use crate::values::{LoadConfig, Scope, Variable};
use gosleuth_model::Similarity;
use gosleuth_runtime::goroutines::status;

use crate::error::RequestError;
use crate::filter::{Field, Filter};
use crate::pretty::{multi_line, single_line};
use crate::session::{Query, Session};
use crate::source;

/// What `dlv` loads for `locals`, `args` and `stack -full`
/// (its `ShortLoadConfig`).
const SHORT: LoadConfig = LoadConfig {
    follow_pointers: false,
    max_variable_recurse: 0,
    max_string_len: 64,
    max_array_values: 0,
    max_struct_fields: 3,
};

/// The prompt on a terminal.
pub const PROMPT: &str = "(gosleuth) ";

/// One command: its names, usage and help.
struct Command {
    names: &'static [&'static str],
    usage: &'static str,
    help: &'static str,
}

const COMMANDS: &[Command] = &[
    Command {
        names: &["args"],
        usage: "args [-v] [regex]",
        help: "Print the arguments of the current frame (-v: in full).",
    },
    Command {
        names: &["down"],
        usage: "down [n]",
        help: "Move the current frame down by n (towards the innermost frame).",
    },
    Command {
        names: &["exit", "quit", "q"],
        usage: "exit",
        help: "Leave (the process was resumed when it was read; nothing is killed).",
    },
    Command {
        names: &["frame"],
        usage: "frame n [command]",
        help: "Select frame n of the current goroutine, or run a command in frame n.",
    },
    Command {
        names: &["funcs"],
        usage: "funcs [regex]",
        help: "Print the functions of the program.",
    },
    Command {
        names: &["goroutine", "gr"],
        usage: "goroutine [id [command]]",
        help: "Show the current goroutine, select goroutine id, or run a command on it.",
    },
    Command {
        names: &["goroutines", "grs"],
        usage: "goroutines [-u|-r|-g|-s] [-t [depth]] [-l] [-with|-without FIELD ARG] \
                [-group FIELD [KEY]] [-exec COMMAND]\n\
                \x20      goroutines [--with FIELD=RE] [--without FIELD=RE] [--group-by stack|FIELD]",
        help: "List goroutines. dlv's filters (-with userloc X) match a substring of \
               `file:line in function`; gosleuth's (--with userloc=RE) a regular expression \
               over `function file:line`. FIELD: curloc, userloc, goloc, startloc, label, \
               running, user (and state=RE with --with). -group stack (or --group-by stack) \
               groups by full stack like `gosleuth core`.",
    },
    Command {
        names: &["help", "h"],
        usage: "help [command]",
        help: "Show the commands, or one command's help.",
    },
    Command {
        names: &["list", "ls", "l"],
        usage: "list [location]",
        help: "Show source around the current frame or a location \
               (file:line, function, +n, -n, line, *address).",
    },
    Command {
        names: &["locals"],
        usage: "locals [-v] [regex]",
        help: "Print the local variables of the current frame (-v: in full).",
    },
    Command {
        names: &["print", "p"],
        usage: "print expr",
        help: "Evaluate an expression: names, fields a.b, index a[i], *p, len(x), cap(x), \
               pkg.Var.",
    },
    Command {
        names: &["regs"],
        usage: "regs [-a]",
        help: "Print the registers of the current thread, or what is known of the current \
               frame's.",
    },
    Command {
        names: &["sources"],
        usage: "sources [regex]",
        help: "Print the source files of the program.",
    },
    Command {
        names: &["stack", "bt"],
        usage: "stack [-full] [depth]",
        help: "Print the stack of the current goroutine (-full: with arguments and locals).",
    },
    Command {
        names: &["threads"],
        usage: "threads",
        help: "Print the threads.",
    },
    Command {
        names: &["up"],
        usage: "up [n]",
        help: "Move the current frame up by n (towards the caller).",
    },
    Command {
        names: &["vars"],
        usage: "vars [regex]",
        help: "Print package variables.",
    },
];

fn find_command(name: &str) -> Option<&'static Command> {
    COMMANDS.iter().find(|c| c.names.contains(&name))
}

/// Whether the REPL goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Exit,
}

/// Why a command failed.
#[derive(Debug)]
pub enum CmdError {
    /// A message for the user.
    User(String),
    /// Writing the output failed (a closed pipe ends the REPL).
    Io(io::Error),
}

impl From<String> for CmdError {
    fn from(s: String) -> Self {
        CmdError::User(s)
    }
}

impl From<&str> for CmdError {
    fn from(s: &str) -> Self {
        CmdError::User(s.to_string())
    }
}

impl From<RequestError> for CmdError {
    fn from(e: RequestError) -> Self {
        CmdError::User(e.to_string())
    }
}

impl From<io::Error> for CmdError {
    fn from(e: io::Error) -> Self {
        CmdError::Io(e)
    }
}

type CmdResult = Result<Flow, CmdError>;

/// Where a command runs: a goroutine (-1: the selected one) and a frame.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    goroutine: i64,
    frame: usize,
    /// Set by `goroutine N cmd` / `frame N cmd`.
    scoped: bool,
}

/// The REPL's state.
pub struct Repl<'s> {
    s: &'s Session,
    /// The current frame (shared with the completer).
    frame: Rc<Cell<usize>>,
    last: String,
}

impl<'s> Repl<'s> {
    /// A REPL over `s`, at frame 0 of the selected goroutine.
    pub fn new(s: &'s Session) -> Repl<'s> {
        Repl {
            s,
            frame: Rc::new(Cell::new(0)),
            last: String::new(),
        }
    }

    /// Runs one command line, writing its output to `out`. Errors are
    /// returned, not printed.
    pub fn execute(&mut self, line: &str, out: &mut dyn Write) -> CmdResult {
        let ctx = Ctx {
            goroutine: -1,
            frame: self.frame.get(),
            scoped: false,
        };
        self.call(line, ctx, out)
    }

    /// Reads commands from `input` until it ends or `exit`; output to
    /// `out`, failures to `err` (`Command failed: ...`, as `dlv` does).
    pub fn run_lines(
        &mut self,
        input: impl BufRead,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<()> {
        for line in input.lines() {
            let line = line?;
            if self.run_one(&line, false, out, err)? == Flow::Exit {
                break;
            }
        }
        out.flush()
    }

    /// Runs on the terminal when standard input is one, else reads
    /// standard input line by line.
    pub fn run(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
        if io::stdin().is_terminal() {
            self.run_terminal(out, err)
        } else {
            let stdin = io::stdin();
            self.run_lines(stdin.lock(), out, err)
        }
    }

    fn run_one(
        &mut self,
        line: &str,
        repeat_empty: bool,
        out: &mut dyn Write,
        err: &mut dyn Write,
    ) -> io::Result<Flow> {
        let mut line = line.trim().to_string();
        if line.is_empty() {
            if !repeat_empty || self.last.is_empty() {
                return Ok(Flow::Continue);
            }
            line = self.last.clone();
        }
        self.last = line.clone();
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.execute(&line, &mut *out)
        }))
        .unwrap_or_else(|p| {
            Err(CmdError::User(crate::rpc::internal_error(
                &line,
                p.as_ref(),
            )))
        });
        let flow = match result {
            Ok(f) => f,
            Err(CmdError::User(msg)) => {
                out.flush()?;
                writeln!(err, "Command failed: {msg}")?;
                Flow::Continue
            }
            Err(CmdError::Io(e)) => return Err(e),
        };
        out.flush()?;
        Ok(flow)
    }

    fn run_terminal(&mut self, out: &mut dyn Write, err: &mut dyn Write) -> io::Result<()> {
        use rustyline::error::ReadlineError;
        let config = rustyline::Config::builder()
            .auto_add_history(true)
            .max_history_size(10_000)
            .map_err(io::Error::other)?
            .completion_type(rustyline::CompletionType::List)
            .build();
        let mut ed: rustyline::Editor<Helper<'s>, rustyline::history::DefaultHistory> =
            rustyline::Editor::with_config(config).map_err(io::Error::other)?;
        ed.set_helper(Some(Helper {
            s: self.s,
            frame: Rc::clone(&self.frame),
        }));
        let history = history_path();
        if let Some(h) = &history {
            let _ = ed.load_history(h);
        }
        writeln!(out, "Type 'help' for list of commands.")?;
        out.flush()?;
        loop {
            match ed.readline(PROMPT) {
                Ok(line) => {
                    if self.run_one(&line, true, out, err)? == Flow::Exit {
                        break;
                    }
                }
                Err(ReadlineError::Interrupted) => continue,
                Err(ReadlineError::Eof) => {
                    writeln!(out, "exit")?;
                    break;
                }
                Err(e) => {
                    writeln!(err, "cannot read the command line: {e}")?;
                    break;
                }
            }
        }
        if let Some(h) = &history {
            if let Some(dir) = h.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            if let Err(e) = ed.save_history(h) {
                writeln!(err, "cannot save history to {}: {e}", h.display())?;
            }
        }
        out.flush()
    }

    fn call(&mut self, line: &str, ctx: Ctx, out: &mut dyn Write) -> CmdResult {
        let line = line.trim();
        let (name, args) = match line.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (line, ""),
        };
        if name.is_empty() {
            return Ok(Flow::Continue);
        }
        let Some(cmd) = find_command(name) else {
            return Err(format!("command not available: {name} (type 'help' for the list)").into());
        };
        match cmd.names[0] {
            "args" => self.vars(ctx, args, true, out),
            "locals" => self.vars(ctx, args, false, out),
            "down" => self.move_frame(ctx, args, -1, out),
            "up" => self.move_frame(ctx, args, 1, out),
            "exit" => Ok(Flow::Exit),
            "frame" => self.frame_cmd(ctx, args, out),
            "funcs" => self.strings(self.s.functions(args)?, out),
            "sources" => self.strings(self.s.sources(args)?, out),
            "goroutine" => self.goroutine(ctx, args, out),
            "goroutines" => self.goroutines(ctx, args, out),
            "help" => help(args, out),
            "list" => self.list(ctx, args, out),
            "print" => self.print(ctx, args, out),
            "regs" => self.regs(ctx, args, out),
            "stack" => self.stack(ctx, args, out),
            "threads" => self.threads(out),
            "vars" => {
                let vars = self.s.package_vars(args, &SHORT)?;
                print_vars(&vars, "vars", false, out)
            }
            _ => Err(format!("command not available: {name}").into()),
        }
    }

    /// Tab completions for `line` with the cursor at its end: where the
    /// completed word starts, and the candidates.
    pub fn complete(&self, line: &str) -> (usize, Vec<String>) {
        Helper {
            s: self.s,
            frame: Rc::clone(&self.frame),
        }
        .complete_at(line, line.len())
    }

    fn scope(&self, ctx: Ctx) -> Result<Scope, RequestError> {
        self.s.scope(ctx.goroutine, ctx.frame as i64, 0)
    }

    fn strings(&self, mut v: Vec<String>, out: &mut dyn Write) -> CmdResult {
        v.sort();
        for s in v {
            writeln!(out, "{s}")?;
        }
        Ok(Flow::Continue)
    }

    fn vars(&mut self, ctx: Ctx, args: &str, arguments: bool, out: &mut dyn Write) -> CmdResult {
        let (full, filter) = match args.strip_prefix("-v") {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => (true, rest.trim()),
            _ => (false, args),
        };
        let cfg = if full { LoadConfig::default() } else { SHORT };
        let scope = self.scope(ctx)?;
        let vars = if arguments {
            self.s.args(scope, &cfg)?
        } else {
            self.s.locals(scope, &cfg)?
        };
        let re = if filter.is_empty() {
            None
        } else {
            Some(regex::Regex::new(filter).map_err(|e| format!("bad filter: {e}"))?)
        };
        let vars: Vec<Variable> = vars
            .into_iter()
            .filter(|v| re.as_ref().is_none_or(|r| r.is_match(&v.name)))
            .collect();
        print_vars(&vars, if arguments { "args" } else { "locals" }, full, out)
    }

    fn print(&mut self, ctx: Ctx, args: &str, out: &mut dyn Write) -> CmdResult {
        if args.is_empty() {
            return Err("not enough arguments: print EXPR".into());
        }
        let scope = self.scope(ctx)?;
        let v = self.s.eval(scope, args, &LoadConfig::default())?;
        writeln!(out, "{}", multi_line(&v, ""))?;
        if v.kind == crate::pretty::kind::CHAN && v.unreadable.is_empty() {
            // As dlv does: who is stuck on it.
            writeln!(out)?;
            match self.s.channel_waiters(Some(scope), args) {
                Ok(waiters) => {
                    writeln!(out, "Goroutines waiting on this channel:")?;
                    let selected = self.s.selection().goroutine;
                    let opts = GoroutinesArgs::parse("").map_err(CmdError::User)?;
                    for &i in waiters.iter().take(100) {
                        self.goroutine_line(ctx, i, selected, "", &opts, out)?;
                    }
                    if waiters.len() > 100 {
                        writeln!(out, "...and {} more", waiters.len() - 100)?;
                    }
                }
                Err(e) => writeln!(out, "Error reading channel wait queue: {e}")?,
            }
        }
        Ok(Flow::Continue)
    }

    fn goroutine(&mut self, ctx: Ctx, args: &str, out: &mut dyn Write) -> CmdResult {
        if args.is_empty() {
            let state = self.s.state();
            match &state.current_thread {
                Some(t) => writeln!(out, "Thread {} at {}:{}", t.id, t.file, t.line)?,
                None => writeln!(out, "Thread <nil>")?,
            }
            if let Some(g) = &state.current_goroutine {
                write_goroutine_long(out, g)?;
            }
            return Ok(Flow::Continue);
        }
        let (id, rest) = match args.split_once(char::is_whitespace) {
            Some((id, rest)) => (id, rest.trim()),
            None => (args, ""),
        };
        let id: i64 = id
            .parse()
            .map_err(|_| format!("invalid goroutine id {id:?}"))?;
        if !rest.is_empty() {
            self.s.goroutine_index(id)?;
            let ctx = Ctx {
                goroutine: id,
                frame: 0,
                scoped: true,
            };
            return self.call(rest, ctx, out);
        }
        let old = self
            .s
            .selection()
            .goroutine
            .map_or(0, |g| self.s.capture().goroutines()[g].id);
        self.s.switch_goroutine(id)?;
        self.frame.set(0);
        let _ = ctx;
        let tid = self.s.current_thread().map_or(0, |t| t.id);
        writeln!(out, "Switched from {old} to {id} (thread {tid})")?;
        Ok(Flow::Continue)
    }

    fn frame_cmd(&mut self, ctx: Ctx, args: &str, out: &mut dyn Write) -> CmdResult {
        let (n, rest) = match args.split_once(char::is_whitespace) {
            Some((n, rest)) => (n, rest.trim()),
            None => (args, ""),
        };
        if n.is_empty() {
            return Err("not enough arguments: frame N".into());
        }
        let n: usize = n.parse().map_err(|_| format!("invalid frame {n:?}"))?;
        if !rest.is_empty() {
            let ctx = Ctx {
                frame: n,
                scoped: true,
                ..ctx
            };
            return self.call(rest, ctx, out);
        }
        self.select_frame(ctx, n, out)
    }

    fn move_frame(&mut self, ctx: Ctx, args: &str, dir: i64, out: &mut dyn Write) -> CmdResult {
        let n: i64 = if args.is_empty() {
            1
        } else {
            args.parse()
                .map_err(|_| format!("invalid count {args:?}"))?
        };
        let target = ctx.frame as i64 + dir * n;
        let target = usize::try_from(target).map_err(|_| format!("Invalid frame {target}"))?;
        self.select_frame(ctx, target, out)
    }

    fn select_frame(&mut self, ctx: Ctx, n: usize, out: &mut dyn Write) -> CmdResult {
        let gi = self.s.goroutine_index(ctx.goroutine)?;
        let frames = self.s.stacktrace(gi, n, n);
        let f = frames.first().ok_or_else(|| format!("Invalid frame {n}"))?;
        self.frame.set(n);
        let loc = &f.location;
        writeln!(
            out,
            "> {}() {}:{} (PC: {:#x})",
            fn_name(loc),
            loc.file,
            loc.line,
            loc.pc
        )?;
        writeln!(
            out,
            "Frame {n}: {}:{} (PC: {:x})",
            loc.file, loc.line, loc.pc
        )?;
        match source::listing(&loc.file, loc.line, true) {
            Ok(text) => out.write_all(text.as_bytes())?,
            Err(e) => writeln!(out, "({e})")?,
        }
        Ok(Flow::Continue)
    }

    fn stack(&mut self, ctx: Ctx, args: &str, out: &mut dyn Write) -> CmdResult {
        let mut depth = 50usize;
        let mut full = false;
        for a in args.split_whitespace() {
            match a {
                "-full" => full = true,
                "-offsets" | "-defer" => {}
                n => {
                    depth = n
                        .parse()
                        .map_err(|_| "depth must be a number".to_string())?;
                }
            }
        }
        let gi = self.s.goroutine_index(ctx.goroutine)?;
        let mut frames = self.s.stacktrace(gi, depth, 0);
        let mut errors: Vec<Option<String>> = vec![None; frames.len()];
        if full {
            for (k, f) in frames.iter_mut().enumerate() {
                let scope = Scope {
                    goroutine: gi,
                    frame: k,
                };
                match (self.s.args(scope, &SHORT), self.s.locals(scope, &SHORT)) {
                    (Ok(a), Ok(l)) => {
                        f.arguments = Some(a);
                        f.locals = Some(l);
                    }
                    (Err(e), _) | (_, Err(e)) => errors[k] = Some(e.to_string()),
                }
            }
        }
        print_stack(out, &frames, &errors, "")?;
        Ok(Flow::Continue)
    }

    fn list(&mut self, ctx: Ctx, args: &str, out: &mut dyn Write) -> CmdResult {
        if args.is_empty() {
            let gi = self.s.goroutine_index(ctx.goroutine)?;
            let frames = self.s.stacktrace(gi, ctx.frame, ctx.frame);
            let f = frames
                .first()
                .ok_or_else(|| format!("frame {} does not exist", ctx.frame))?;
            let loc = &f.location;
            if ctx.frame == 0 && !ctx.scoped {
                writeln!(
                    out,
                    "> {}() {}:{} (PC: {:#x})",
                    fn_name(loc),
                    loc.file,
                    loc.line,
                    loc.pc
                )?;
            } else {
                let id = self.s.capture().goroutines()[gi].id;
                writeln!(
                    out,
                    "Goroutine {id} frame {} at {}:{} (PC: {:#x})",
                    ctx.frame, loc.file, loc.line, loc.pc
                )?;
            }
            out.write_all(source::listing(&loc.file, loc.line, true)?.as_bytes())?;
            return Ok(Flow::Continue);
        }
        let scope = self.scope(ctx).ok();
        let locs = self.s.find_location(scope, args, true)?;
        let loc = match locs.as_slice() {
            [one] => one,
            [] => return Err(format!("location {args:?} not found").into()),
            _ => return Err(format!("location {args:?} is ambiguous").into()),
        };
        writeln!(out, "Showing {}:{} (PC: {:#x})", loc.file, loc.line, loc.pc)?;
        out.write_all(source::listing(&loc.file, loc.line, false)?.as_bytes())?;
        Ok(Flow::Continue)
    }

    fn regs(&mut self, ctx: Ctx, args: &str, out: &mut dyn Write) -> CmdResult {
        let all = args == "-a";
        let regs = if ctx.goroutine < 0 && ctx.frame == 0 && !ctx.scoped {
            match self.s.thread_registers(0, all) {
                Ok(r) => r,
                Err(_) => self.s.scope_registers(self.scope(ctx)?, all)?,
            }
        } else {
            self.s.scope_registers(self.scope(ctx)?, all)?
        };
        let width = regs.iter().map(|r| r.name.len()).max().unwrap_or(0);
        for r in regs {
            writeln!(out, "{:>width$} = {}", r.name, r.value)?;
        }
        Ok(Flow::Continue)
    }

    fn threads(&mut self, out: &mut dyn Write) -> CmdResult {
        let current = self.s.current_thread().map(|t| t.id);
        let threads = self.s.threads();
        if threads.is_empty() {
            writeln!(
                out,
                "(no threads: the process was read without stopping it)"
            )?;
        }
        for t in threads {
            let mark = if Some(t.id) == current { "* " } else { "  " };
            let name = t.function.as_ref().map_or("?", |f| f.name.as_str());
            writeln!(
                out,
                "{mark}Thread {} at {:#x} {}:{} {name}",
                t.id, t.pc, t.file, t.line
            )?;
        }
        Ok(Flow::Continue)
    }

    fn goroutines(&mut self, ctx: Ctx, args: &str, out: &mut dyn Write) -> CmdResult {
        let opts = GoroutinesArgs::parse(args)?;
        let c = self.s.capture();
        if opts.by_stack {
            let keep = |v: &gosleuth_runtime::View<'_>| {
                let g = crate::api::goroutine(c, v.index(), false);
                opts.filters.iter().all(|f| f.matches(c, v.index(), &g))
            };
            let groups = c.group(Similarity::AnyValue, keep);
            let total = groups.iter().map(|g| g.count).sum();
            let paths = gosleuth_render::paths::PathShortener::learn(
                groups.iter().flat_map(|g| g.frames.iter()),
            );
            let text_opts = gosleuth_render::triage::TextOptions {
                show_runtime: true,
                max_groups: 50,
                ..Default::default()
            };
            let mut s = String::new();
            gosleuth_render::triage::group_list(&mut s, total, &groups, &paths, &text_opts);
            out.write_all(s.as_bytes())?;
            return Ok(Flow::Continue);
        }
        let q = Query {
            filters: opts.filters.clone(),
            group_by: opts.group_by,
            group_key: opts.group_key.clone(),
            max_group_members: 5,
            max_groups: 50,
            ..Query::default()
        };
        let listing = self.s.list(&q);
        let selected = self.s.selection().goroutine;
        if listing.groups.is_empty() && opts.group_by.is_none() {
            for &i in &listing.goroutines {
                self.goroutine_line(ctx, i, selected, "", &opts, out)?;
            }
            if !listing.goroutines.is_empty() {
                writeln!(out, "[{} goroutines]", listing.goroutines.len())?;
            }
            return Ok(Flow::Continue);
        }
        let n = listing.groups.len();
        for (k, g) in listing.groups.iter().enumerate() {
            writeln!(out, "{}", g.name)?;
            let members = listing
                .goroutines
                .get(g.offset..g.offset + g.count)
                .unwrap_or(&[]);
            for &i in members {
                self.goroutine_line(ctx, i, selected, "\t", &opts, out)?;
            }
            writeln!(out, "\tTotal: {}", g.total)?;
            if k + 1 != n {
                writeln!(out)?;
            }
        }
        if listing.too_many_groups {
            writeln!(out, "Too many groups")?;
        }
        Ok(Flow::Continue)
    }

    fn goroutine_line(
        &mut self,
        ctx: Ctx,
        i: usize,
        selected: Option<usize>,
        indent: &str,
        opts: &GoroutinesArgs,
        out: &mut dyn Write,
    ) -> Result<(), CmdError> {
        let g = self.s.goroutine(i);
        let mark = if selected == Some(i) { "* " } else { "  " };
        writeln!(
            out,
            "{indent}{mark}Goroutine {}",
            self.format_goroutine(&g, opts.loc)
        )?;
        if opts.labels && !g.labels.is_empty() {
            let l: Vec<String> = g
                .labels
                .iter()
                .map(|(k, v)| format!("{k:?}:{v:?}"))
                .collect();
            writeln!(out, "{indent}\tLabels: {}", l.join(", "))?;
        }
        if let Some(depth) = opts.stack_depth {
            let frames = self.s.stacktrace(i, depth, 0);
            let errors = vec![None; frames.len()];
            print_stack(out, &frames, &errors, &format!("{indent}\t"))?;
        }
        if let Some(cmd) = &opts.exec {
            let ctx = Ctx {
                goroutine: g.id as i64,
                frame: 0,
                scoped: true,
            };
            let _ = ctx.frame;
            match self.call(cmd, ctx, out) {
                Ok(_) => {}
                Err(CmdError::User(e)) => writeln!(out, "{indent}\t(failed: {e})")?,
                Err(e) => return Err(e),
            }
        }
        let _ = ctx;
        Ok(())
    }

    /// dlv's one-line goroutine: `ID - User: file:line function (0xpc)
    /// (thread T) [wait reason since]`.
    fn format_goroutine(&self, g: &Goroutine, which: LocKind) -> String {
        let (name, loc) = match which {
            LocKind::User => ("User", &g.user_current_loc),
            LocKind::Runtime => ("Runtime", &g.current_loc),
            LocKind::Go => ("Go", &g.go_statement_loc),
            LocKind::Start => ("Start", &g.start_loc),
        };
        let mut s = format!("{} - {name}: {}", g.id, format_location(loc));
        if g.thread_id != 0 {
            let _ = write!(s, " (thread {})", g.thread_id);
        }
        let waiting =
            g.status == u64::from(status::WAITING) || g.status == u64::from(status::SYSCALL);
        if waiting && g.wait_reason != 0 {
            let reasons = &self.s.capture().target().wait_reasons();
            let reason = usize::try_from(g.wait_reason)
                .ok()
                .and_then(|r| reasons.get(r))
                .filter(|r| !r.is_empty())
                .cloned()
                .unwrap_or_else(|| format!("unknown wait reason {}", g.wait_reason));
            let _ = write!(s, " [{reason}");
            if g.wait_since > 0 {
                let _ = write!(s, " {}", g.wait_since);
            }
            s.push(']');
        }
        s
    }
}

fn fn_name(loc: &Location) -> &str {
    loc.function.as_ref().map_or("???", |f| f.name.as_str())
}

/// `file:line function (0xpc)`.
fn format_location(loc: &Location) -> String {
    format!("{}:{} {} ({:#x})", loc.file, loc.line, fn_name(loc), loc.pc)
}

fn write_goroutine_long(out: &mut dyn Write, g: &Goroutine) -> io::Result<()> {
    writeln!(out, "Goroutine {}:", g.id)?;
    writeln!(out, "\tRuntime: {}", format_location(&g.current_loc))?;
    writeln!(out, "\tUser: {}", format_location(&g.user_current_loc))?;
    writeln!(out, "\tGo: {}", format_location(&g.go_statement_loc))?;
    writeln!(out, "\tStart: {}", format_location(&g.start_loc))
}

fn print_vars(vars: &[Variable], what: &str, full: bool, out: &mut dyn Write) -> CmdResult {
    if vars.is_empty() {
        writeln!(out, "(no {what})")?;
    }
    for v in vars {
        let value = if full {
            multi_line(v, "")
        } else {
            single_line(v)
        };
        writeln!(out, "{} = {value}", v.name)?;
    }
    Ok(Flow::Continue)
}

/// dlv's stack layout: `N  0xPC in function` / `at file:line`, variables
/// indented below, `(truncated)` when the stack goes on.
fn print_stack(
    out: &mut dyn Write,
    frames: &[Stackframe],
    errors: &[Option<String>],
    indent: &str,
) -> io::Result<()> {
    if frames.is_empty() {
        return Ok(());
    }
    let extra = frames.iter().any(|f| {
        f.arguments.as_ref().is_some_and(|a| !a.is_empty())
            || f.locals.as_ref().is_some_and(|l| !l.is_empty())
    }) || errors.iter().any(Option::is_some);
    let digits = (frames.len().saturating_sub(1)).to_string().len();
    let pad = format!("{indent}{}", " ".repeat(digits + 2 + indent.len()));
    for (i, f) in frames.iter().enumerate() {
        let loc = &f.location;
        writeln!(
            out,
            "{indent}{i:>digits$}  0x{:016x} in {}",
            loc.pc,
            fn_name(loc)
        )?;
        writeln!(out, "{pad}at {}:{}", loc.file, loc.line)?;
        for v in f
            .arguments
            .iter()
            .flatten()
            .chain(f.locals.iter().flatten())
        {
            writeln!(out, "{pad}    {} = {}", v.name, single_line(v))?;
        }
        if let Some(Some(e)) = errors.get(i) {
            writeln!(out, "{pad}    (variables: {e})")?;
        }
        if extra {
            writeln!(out)?;
        }
    }
    if frames.last().is_some_and(|f| !f.bottom) {
        writeln!(out, "{indent}(truncated)")?;
    }
    Ok(())
}

fn help(args: &str, out: &mut dyn Write) -> CmdResult {
    if !args.is_empty() {
        let c = find_command(args).ok_or_else(|| format!("no command {args:?}"))?;
        writeln!(out, "{}\n\n{}", c.usage, c.help)?;
        if c.names.len() > 1 {
            writeln!(out, "\nAliases: {}", c.names[1..].join(", "))?;
        }
        return Ok(Flow::Continue);
    }
    writeln!(
        out,
        "The following commands are available (the target is a snapshot: it does not run):"
    )?;
    for c in COMMANDS {
        let mut names = c.names[0].to_string();
        if c.names.len() > 1 {
            let _ = write!(names, " (alias: {})", c.names[1..].join(" | "));
        }
        let first = c.help.split(". ").next().unwrap_or(c.help);
        writeln!(out, "    {names:<28} {}", first.trim_end_matches('.'))?;
    }
    writeln!(
        out,
        "Type help followed by a command for full documentation."
    )?;
    Ok(Flow::Continue)
}

/// Which location `goroutines` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LocKind {
    User,
    Runtime,
    Go,
    Start,
}

/// Parsed `goroutines` arguments.
#[derive(Debug, Clone)]
struct GoroutinesArgs {
    filters: Vec<Filter>,
    group_by: Option<Field>,
    group_key: String,
    by_stack: bool,
    loc: LocKind,
    labels: bool,
    stack_depth: Option<usize>,
    exec: Option<String>,
}

impl GoroutinesArgs {
    fn parse(args: &str) -> Result<GoroutinesArgs, String> {
        let mut o = GoroutinesArgs {
            filters: Vec::new(),
            group_by: None,
            group_key: String::new(),
            by_stack: false,
            loc: LocKind::User,
            labels: false,
            stack_depth: None,
            exec: None,
        };
        let words: Vec<&str> = args.split_whitespace().collect();
        let mut i = 0;
        let field = |w: Option<&&str>| -> Result<Field, String> {
            let w = w.ok_or(
                "expected a field: curloc, userloc, goloc, startloc, label, running or user",
            )?;
            match Field::from_name(w) {
                Some(Field::State) | None => Err(format!(
                    "unrecognized field {w:?}: use curloc, userloc, goloc, startloc, label, \
                     running or user"
                )),
                Some(f) => Ok(f),
            }
        };
        while i < words.len() {
            let w = words[i];
            let (flag, inline) = match w.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f, Some(v)),
                _ => (w, None),
            };
            match flag {
                "-u" => o.loc = LocKind::User,
                "-r" => o.loc = LocKind::Runtime,
                "-g" => o.loc = LocKind::Go,
                "-s" => o.loc = LocKind::Start,
                "-l" => o.labels = true,
                "-t" => {
                    o.stack_depth = Some(10);
                    if let Some(n) = words.get(i + 1).and_then(|n| n.parse().ok()) {
                        o.stack_depth = Some(n);
                        i += 1;
                    }
                }
                "-w" | "-with" | "-wo" | "-without" => {
                    let negated = flag.starts_with("-wo");
                    let f = field(words.get(i + 1))?;
                    i += 1;
                    let arg = if matches!(f, Field::Running | Field::User) {
                        ""
                    } else {
                        i += 1;
                        words
                            .get(i)
                            .ok_or_else(|| format!("{flag} {:?} needs an argument", words[i - 1]))?
                    };
                    o.filters.push(Filter::delve(f, negated, arg));
                }
                "--with" | "--without" => {
                    let spec = match inline {
                        Some(v) => v,
                        None => {
                            i += 1;
                            words
                                .get(i)
                                .ok_or_else(|| format!("{flag} needs FIELD=RE"))?
                        }
                    };
                    o.filters.push(
                        Filter::gosleuth(spec, flag == "--without").map_err(|e| e.to_string())?,
                    );
                }
                "-group" | "--group-by" => {
                    let key = match inline {
                        Some(v) => v,
                        None => {
                            i += 1;
                            words
                                .get(i)
                                .ok_or_else(|| format!("{flag} needs a field"))?
                        }
                    };
                    if let Some(k) = key.strip_prefix("label=") {
                        o.group_by = Some(Field::Label);
                        o.group_key = k.to_string();
                    } else if matches!(key, "stack" | "full") {
                        o.by_stack = true;
                    } else {
                        let f = field(Some(&key))?;
                        o.group_by = Some(f);
                        if f == Field::Label {
                            i += 1;
                            o.group_key =
                                words.get(i).ok_or("-group label needs a key")?.to_string();
                        }
                    }
                }
                "-exec" => {
                    o.exec = Some(words[i + 1..].join(" "));
                    break;
                }
                "-chan" => {
                    return Err("-chan is not supported: `gosleuth diagnose` names the \
                                goroutines waiting on each channel"
                        .into());
                }
                other => return Err(format!("wrong argument: '{other}'")),
            }
            i += 1;
        }
        Ok(o)
    }
}

/// Where the history is kept: `$XDG_STATE_HOME/gosleuth/repl_history`,
/// else `~/.local/state/gosleuth/repl_history`.
fn history_path() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(std::env::var_os("HOME")?).join(".local/state"),
    };
    Some(base.join("gosleuth/repl_history"))
}

/// Tab completion: command names, then what each command takes.
struct Helper<'s> {
    s: &'s Session,
    frame: Rc<Cell<usize>>,
}

const GOROUTINES_FLAGS: &[&str] = &[
    "-u",
    "-r",
    "-g",
    "-s",
    "-l",
    "-t",
    "-with",
    "-without",
    "-group",
    "-exec",
    "--with",
    "--without",
    "--group-by",
    "curloc",
    "userloc",
    "goloc",
    "startloc",
    "label",
    "running",
    "user",
    "stack",
];

impl Helper<'_> {
    fn candidates(&self, command: Option<&str>, word: &str) -> Vec<String> {
        let mut out: Vec<String> = match command.and_then(find_command).map(|c| c.names[0]) {
            None => COMMANDS
                .iter()
                .flat_map(|c| c.names.iter())
                .map(|n| n.to_string())
                .collect(),
            Some("print" | "locals" | "args") => {
                let Ok(scope) = self.s.scope(-1, self.frame.get() as i64, 0) else {
                    return Vec::new();
                };
                let mut names: Vec<String> = Vec::new();
                for vars in [self.s.args(scope, &SHORT), self.s.locals(scope, &SHORT)] {
                    names.extend(vars.into_iter().flatten().map(|v| v.name));
                }
                names
            }
            Some("goroutines") => GOROUTINES_FLAGS.iter().map(|s| s.to_string()).collect(),
            Some("list" | "funcs") if word.len() >= 2 => self
                .s
                .functions("")
                .unwrap_or_default()
                .into_iter()
                .filter(|f| f.starts_with(word) || f.contains(&format!(".{word}")))
                .take(200)
                .collect(),
            Some("goroutine") => self
                .s
                .capture()
                .goroutines()
                .iter()
                .map(|g| g.id.to_string())
                .filter(|id| id.starts_with(word))
                .take(200)
                .collect(),
            Some("help") => COMMANDS.iter().map(|c| c.names[0].to_string()).collect(),
            _ => Vec::new(),
        };
        out.retain(|c| c.starts_with(word) || c.contains(&format!(".{word}")));
        out.sort();
        out.dedup();
        out
    }
}

impl rustyline::completion::Completer for Helper<'_> {
    type Candidate = String;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<String>)> {
        Ok(self.complete_at(line, pos))
    }
}

impl Helper<'_> {
    /// Where the word under the cursor starts, and its completions.
    fn complete_at(&self, line: &str, pos: usize) -> (usize, Vec<String>) {
        let head = line.get(..pos).unwrap_or(line);
        let start = head
            .char_indices()
            .rfind(|(_, c)| c.is_whitespace())
            .map_or(0, |(i, c)| i + c.len_utf8());
        let word = head.get(start..).unwrap_or("");
        let command = if start == 0 {
            None
        } else {
            head.split_whitespace().next()
        };
        (start, self.candidates(command, word))
    }
}

impl rustyline::hint::Hinter for Helper<'_> {
    type Hint = String;
}

impl rustyline::highlight::Highlighter for Helper<'_> {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        Cow::Borrowed(line)
    }
}

impl rustyline::validate::Validator for Helper<'_> {}

impl rustyline::Helper for Helper<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goroutines_arguments_in_both_spellings() {
        let a =
            GoroutinesArgs::parse("-with userloc main.(*Metrics).CountS -group startloc").unwrap();
        assert_eq!(a.filters.len(), 1);
        assert_eq!(a.filters[0].field, Field::UserLoc);
        assert_eq!(a.group_by, Some(Field::StartLoc));
        let a =
            GoroutinesArgs::parse("--with userloc=SetM --without=state=running --group-by stack")
                .unwrap();
        assert_eq!(a.filters.len(), 2);
        assert!(a.filters[1].negated);
        assert!(a.by_stack);
        let a = GoroutinesArgs::parse("-t 3 -l -s -wo running").unwrap();
        assert_eq!(a.stack_depth, Some(3));
        assert!(a.labels);
        assert_eq!(a.loc, LocKind::Start);
        assert!(a.filters[0].negated);
        assert!(GoroutinesArgs::parse("-with").is_err());
        assert!(GoroutinesArgs::parse("-with userloc").is_err());
        assert!(GoroutinesArgs::parse("-bogus").is_err());
        assert!(GoroutinesArgs::parse("--with nonsense=1").is_err());
        let a = GoroutinesArgs::parse("-group label region -exec stack 2").unwrap();
        assert_eq!(a.group_key, "region");
        assert_eq!(a.exec.as_deref(), Some("stack 2"));
    }
}
