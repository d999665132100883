//! Real client processes: own process group, a time limit, the whole group killed at the end,
//! and a browser shim whose URLs the harness's browser visits while the process runs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::StepContext;
use super::pty::{Pty, Screen};
use crate::browser::VisitEnd;

/// How a process run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    /// The exit code, or `None` when the harness killed the process.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// Why the harness killed it, if it did.
    pub killed: Option<String>,
    /// The harness stopped it because its output said the verb was over (`stop_when`).
    pub stopped: bool,
    /// What the client printed that means the verb failed (its `fail_when`), whatever its exit.
    pub failed: Option<String>,
    /// It ran in a pseudo-terminal: everything it said is in `stdout`.
    pub terminal: bool,
}

impl Finished {
    pub fn succeeded(&self) -> bool {
        self.failed.is_none() && (self.stopped || self.code == Some(0))
    }

    /// The client's error as a user would read it: the kill reason, or the last lines of stderr
    /// (of the screen, in a terminal).
    pub fn error(&self) -> Option<String> {
        if let Some(reason) = self.killed.as_ref().or(self.failed.as_ref()) {
            return Some(reason.clone());
        }
        if self.succeeded() {
            return None;
        }
        // On a screen, the last line is the one a user reads (the lines above it are the
        // dialog); in a stream, the last few.
        let (errors, lines) = if self.terminal { (&self.stdout, 1) } else { (&self.stderr, 3) };
        let said = error_message(errors).unwrap_or_else(|| {
            let said: Vec<&str> = said_lines(errors).collect();
            said[said.len().saturating_sub(lines)..].join(" | ")
        });
        Some(format!("exit {}: {said}", self.code.map_or("?".into(), |c| c.to_string())))
    }
}

/// A command to run for one verb.
pub struct Invocation {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Also visit authorization URLs the client prints on stdout or stderr.
    pub scrape_urls: bool,
    /// What the client gets on stdin.
    pub input: Input,
    /// Output after which the verb is over although the process goes on (a client that stays up
    /// after logging in); the harness then stops it, and the run counts as an exit 0.
    pub stop_when: Option<regex::Regex>,
    /// Output that means the verb failed although the process goes on (or exits 0); the harness
    /// then stops it.
    pub fail_when: Option<regex::Regex>,
    /// Where the process starts (the home, unless a client needs another place).
    pub current_dir: Option<PathBuf>,
    /// Run in a pseudo-terminal: its output (stdout and stderr as one screen) is read with
    /// escapes stripped, and the answers are typed into it.
    pub pty: bool,
}

impl Invocation {
    pub fn new(program: PathBuf, args: Vec<String>, env: BTreeMap<String, String>, timeout: Duration) -> Self {
        Self {
            program,
            args,
            env,
            timeout,
            scrape_urls: false,
            input: Input::default(),
            stop_when: None,
            fail_when: None,
            current_dir: None,
            pty: false,
        }
    }
}

/// A client's standard input.
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// Lines typed in order, each once the output since the previous one matches its prompt.
    pub answers: Vec<Answer>,
    /// Keep stdin open until the process ends: some clients take end-of-file as "quit".
    pub hold: bool,
}

impl Input {
    fn piped(&self) -> bool {
        self.hold || !self.answers.is_empty()
    }
}

/// One answer to a prompt.
#[derive(Debug, Clone)]
pub struct Answer {
    /// Sent once the output matches this (at once when `None`).
    pub after: Option<regex::Regex>,
    pub send: String,
    /// Answer every later occurrence of the prompt too (one per server, say).
    pub repeat: bool,
}

/// The browser shim: an executable that appends its first argument to a file, installed as
/// `$BROWSER` and as `xdg-open` (and friends) first on `PATH`.
pub struct BrowserShim {
    dir: PathBuf,
    urls: PathBuf,
}

impl BrowserShim {
    /// Writes the shim into `<root>/shim-bin`.
    pub fn install(root: &Path) -> std::io::Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = root.join("shim-bin");
        std::fs::create_dir_all(&dir)?;
        let urls = root.join("browser-urls");
        let script = dir.join("harness-browser");
        std::fs::write(&script, format!("#!/bin/sh\nprintf '%s\\n' \"$1\" >> '{}'\n", urls.display()))?;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755))?;
        for alias in ["xdg-open", "sensible-browser", "x-www-browser", "www-browser", "open"] {
            let link = dir.join(alias);
            if !link.exists() {
                std::os::unix::fs::symlink(&script, &link)?;
            }
        }
        Ok(Self { dir, urls })
    }

    /// `BROWSER` and `PATH` for a child.
    fn env(&self) -> [(String, String); 2] {
        let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        [
            ("BROWSER".into(), self.dir.join("harness-browser").display().to_string()),
            ("PATH".into(), format!("{}:{path}", self.dir.display())),
        ]
    }

    /// The environment a client starts with in `home`: HOME first, every XDG base directory
    /// derived from it (a client that falls back on the real user's directories would write
    /// outside the sandbox), no colours, a dumb terminal, and this shim as the browser.
    pub fn client_env(&self, home: &Path) -> BTreeMap<String, String> {
        let mut env = BTreeMap::from([("HOME".to_owned(), home.display().to_string())]);
        for (name, dir) in [
            ("XDG_CONFIG_HOME", ".config"),
            ("XDG_DATA_HOME", ".local/share"),
            ("XDG_STATE_HOME", ".local/state"),
            ("XDG_CACHE_HOME", ".cache"),
        ] {
            env.insert(name.to_owned(), home.join(dir).display().to_string());
        }
        env.insert("NO_COLOR".to_owned(), "1".to_owned());
        env.insert("TERM".to_owned(), "dumb".to_owned());
        env.extend(self.env());
        env
    }

    fn read_from(&self, offset: usize) -> Vec<String> {
        std::fs::read_to_string(&self.urls)
            .map(|text| text.lines().skip(offset).map(str::to_owned).collect())
            .unwrap_or_default()
    }

    fn count(&self) -> usize {
        self.read_from(0).len()
    }
}

/// `invocation` as a command, with nothing yet said of its stdio.
fn command(invocation: &Invocation) -> Command {
    let mut command = Command::new(&invocation.program);
    if let Some(dir) = &invocation.current_dir {
        command.current_dir(dir);
    }
    command.args(&invocation.args).env_clear().envs(&invocation.env).kill_on_drop(true);
    command
}

/// Starts `invocation` in its own process group, on pipes.
fn spawn(invocation: &Invocation, stdin: bool) -> std::io::Result<Child> {
    command(invocation)
        .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
}

/// A started client: the process, where its input goes, and what collects its output (stdout
/// and stderr, or the one terminal).
struct Started {
    child: Child,
    stdin: Option<Box<dyn tokio::io::AsyncWrite + Send + Unpin>>,
    stdout: tokio::task::JoinHandle<String>,
    stderr: Option<tokio::task::JoinHandle<String>>,
}

fn start(invocation: &Invocation, chunks: tokio::sync::mpsc::UnboundedSender<String>) -> std::io::Result<Started> {
    if invocation.pty {
        let mut command = command(invocation);
        let terminal = Pty::attach(&mut command)?;
        let child = command.spawn()?;
        let stdout = tokio::spawn(collect(terminal.clone(), chunks));
        return Ok(Started { child, stdin: Some(Box::new(terminal)), stdout, stderr: None });
    }
    let mut child = spawn(invocation, invocation.input.piped())?;
    let stdin = child.stdin.take().map(|pipe| Box::new(pipe) as Box<dyn tokio::io::AsyncWrite + Send + Unpin>);
    let stdout = tokio::spawn(collect(child.stdout.take().expect("piped"), chunks.clone()));
    let stderr = Some(tokio::spawn(collect(child.stderr.take().expect("piped"), chunks)));
    Ok(Started { child, stdin, stdout, stderr })
}

/// Kills a child's whole process group (a client may have started helpers) when dropped, so
/// nothing outlives a run even when the run itself is cancelled (Ctrl-C, a panic, a timeout).
struct ProcessGroup {
    id: Option<i32>,
}

impl ProcessGroup {
    fn of(child: &Child) -> Self {
        Self { id: child.id().map(|pid| pid as i32) }
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Some(id) = self.id {
            // SAFETY: kill(2) with a negative pid signals the process group the child leads; the
            // group id is the child's pid because it was spawned with process_group(0).
            unsafe {
                libc::kill(-id, libc::SIGKILL);
            }
        }
    }
}

/// Runs to completion, to its `stop_when` sign or to the time limit, answering prompts and
/// visiting every URL the shim receives (or, when scraping, the client prints) meanwhile. When a
/// visit ends without reaching the client (the user abandoned or the page failed), the client is
/// given the step's user timeout to notice, then killed.
pub async fn run(invocation: &Invocation, ctx: &StepContext, shim: &BrowserShim) -> std::io::Result<Finished> {
    let started = std::time::Instant::now();
    // Output is read as it comes, not by lines: prompts end without a newline, and authorization
    // URLs must be visited while the client waits for them.
    let (chunks, mut printed) = tokio::sync::mpsc::unbounded_channel();
    // Counted before the child starts: a client that opens the browser at once would otherwise
    // have its URL taken for an earlier step's.
    let mut seen = shim.count();
    let Started { mut child, mut stdin, stdout: out, stderr: err } = start(invocation, chunks)?;
    let group = ProcessGroup::of(&child);
    let mut answers = invocation.input.answers.iter();
    let mut next_answer = answers.next();
    let mut output = String::new();
    // Where the next prompt is looked for, and where the next URL scan starts.
    let (mut prompt_from, mut scanned) = (0, 0);
    let mut visited = std::collections::HashSet::new();
    let mut deadline = tokio::time::Instant::now() + invocation.timeout;
    let mut why = format!("did not finish within {} s", invocation.timeout.as_secs());
    let (mut killed, mut stopped, mut failed) = (None, false, None);
    let code = loop {
        tokio::select! {
            status = child.wait() => break status.ok().and_then(|s| s.code()),
            Some(chunk) = printed.recv() => output.push_str(&chunk),
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
        }
        while let Some(answer) = next_answer {
            let found = match &answer.after {
                None => Some(prompt_from),
                Some(prompt) => prompt.find(&output[prompt_from..]).map(|m| prompt_from + m.end()),
            };
            let Some(end) = found else { break };
            prompt_from = end;
            if let Some(pipe) = stdin.as_mut() {
                let _ = pipe.write_all(answer.send.as_bytes()).await;
                let _ = pipe.flush().await;
            }
            if !answer.repeat {
                next_answer = answers.next();
            }
        }
        // A terminal stays open: closing it would hang up on the client.
        if next_answer.is_none() && !invocation.input.hold && !invocation.pty {
            stdin = None;
        }
        let mut urls = Vec::new();
        if invocation.scrape_urls {
            // Whole lines only: a URL may arrive in pieces.
            let complete = output[scanned..].rfind('\n').map_or(scanned, |nl| scanned + nl + 1);
            urls.extend(output[scanned..complete].lines().filter_map(authorization_url));
            scanned = complete;
        }
        urls.extend(shim.read_from(seen));
        seen = shim.count();
        for url in urls {
            // A client may both print a URL and hand it to the browser: one visit.
            if !visited.insert(url.clone()) {
                continue;
            }
            let visit = ctx.open_browser(&url).await;
            if !matches!(visit.end, VisitEnd::Delivered { .. }) {
                deadline = deadline.min(tokio::time::Instant::now() + ctx.user_timeout);
                why = format!(
                    "was still waiting {:.1} s after the browser visit ended without reaching it",
                    ctx.user_timeout.as_secs_f32()
                );
            }
        }
        if invocation.stop_when.as_ref().is_some_and(|sign| sign.is_match(&output)) {
            stopped = true;
            break None;
        }
        if let Some(reason) = failure(invocation, &output) {
            failed = Some(reason);
            break None;
        }
        if tokio::time::Instant::now() >= deadline {
            killed = Some(format!("timed out: the client {why}; the harness killed it"));
            break None;
        }
    };
    drop(stdin);
    drop(group);
    let _ = child.wait().await;
    ctx.add_process_time(started.elapsed());
    let stdout = out.await.unwrap_or_default();
    let stderr = match err {
        Some(err) => err.await.unwrap_or_default(),
        None => String::new(),
    };
    if failed.is_none() && killed.is_none() {
        // The rest of the output, in the order it came.
        while let Ok(chunk) = printed.try_recv() {
            output.push_str(&chunk);
        }
        failed = failure(invocation, &output);
    }
    Ok(Finished { code, stdout, stderr, killed, stopped, failed, terminal: invocation.pty })
}

/// The client's error when its output matches `fail_when`: its `reason` group when it has one
/// (a client that prints the reason after the failure), else the last error line it printed
/// before (what a user reads), else the matched text.
fn failure(invocation: &Invocation, output: &str) -> Option<String> {
    let found = invocation.fail_when.as_ref()?.captures(output)?;
    if let Some(reason) = found.name("reason") {
        return Some(reason.as_str().trim().to_owned());
    }
    let found = found.get(0).expect("a match");
    Some(error_message(&output[..found.start()]).unwrap_or_else(|| found.as_str().trim().to_owned()))
}

/// Lines a client printed for its user: not blank, not a stack frame (`    at f (file:1:2)` says
/// where, not what).
fn said_lines(text: &str) -> impl DoubleEndedIterator<Item = &str> {
    text.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("at "))
}

/// What a user reads as the client's reason: its last line that reports an error, with the two
/// lines after it (`Caused by: …`).
pub fn error_message(text: &str) -> Option<String> {
    let said: Vec<&str> = said_lines(text).map(str::trim).collect();
    let last = said.iter().rposition(|l| l.to_lowercase().contains("error"))?;
    Some(said[last..said.len().min(last + 3)].join(" | "))
}

/// Reads a stream to its end, forwarding the text of what arrives and returning the whole text.
/// Escapes are stripped from every client's output, piped or not: some colour their words even
/// with `NO_COLOR`, and the readers match words.
async fn collect(
    mut stream: impl tokio::io::AsyncRead + Unpin,
    chunks: tokio::sync::mpsc::UnboundedSender<String>,
) -> String {
    let mut screen = Screen::default();
    let mut text = String::new();
    let mut buffer = [0u8; 8192];
    while let Ok(n) = stream.read(&mut buffer).await
        && n > 0
    {
        let piece = screen.read(&buffer[..n]);
        text.push_str(&piece);
        let _ = chunks.send(piece);
    }
    text
}

/// An authorization request URL in a line a client printed (`…?response_type=code&…`).
fn authorization_url(line: &str) -> Option<String> {
    line.split_whitespace()
        .find(|word| word.starts_with("http") && word.contains("response_type=code"))
        .map(|url| url.trim_end_matches(['.', ',', ')', '"', '\'']).to_owned())
}

/// A long-running child spoken to over stdio with JSON lines (an app server).
pub struct LineSession {
    started: std::time::Instant,
    group: ProcessGroup,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    stderr: tokio::task::JoinHandle<String>,
}

impl LineSession {
    pub fn start(invocation: &Invocation) -> std::io::Result<Self> {
        let mut child = spawn(invocation, true)?;
        let stdin = child.stdin.take().expect("piped");
        let stdout = BufReader::new(child.stdout.take().expect("piped"));
        let mut stderr = child.stderr.take().expect("piped");
        let stderr = tokio::spawn(async move {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text).await;
            text
        });
        Ok(Self { started: std::time::Instant::now(), group: ProcessGroup::of(&child), child, stdin, stdout, stderr })
    }

    pub async fn send(&mut self, message: &serde_json::Value) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(message)?;
        line.push(b'\n');
        self.stdin.write_all(&line).await?;
        self.stdin.flush().await
    }

    /// Reads lines until one answers request `id`, or the time runs out.
    pub async fn response(&mut self, id: u64, timeout: Duration) -> Result<serde_json::Value, String> {
        let read = async {
            let mut line = String::new();
            loop {
                line.clear();
                if self.stdout.read_line(&mut line).await.map_err(|e| e.to_string())? == 0 {
                    return Err("the client closed its output".to_owned());
                }
                if let Ok(message) = serde_json::from_str::<serde_json::Value>(&line)
                    && message.get("id").and_then(serde_json::Value::as_u64) == Some(id)
                {
                    return Ok(message);
                }
            }
        };
        tokio::time::timeout(timeout, read)
            .await
            .map_err(|_| format!("no answer to request {id} within {}s", timeout.as_secs()))?
    }

    /// Kills the process group and returns what it wrote to stderr.
    pub async fn stop(mut self, ctx: &StepContext) -> String {
        drop(self.group);
        let _ = self.child.wait().await;
        ctx.add_process_time(self.started.elapsed());
        self.stderr.await.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::BrowserAction;

    fn invocation(script: &str, timeout: Duration) -> Invocation {
        Invocation::new(
            "/bin/sh".into(),
            vec!["-c".into(), script.into()],
            BTreeMap::from([("PATH".into(), "/usr/bin:/bin".into())]),
            timeout,
        )
    }

    /// A temporary home with the browser shim installed, and a step in it (1 s for the user).
    fn sandbox(action: BrowserAction) -> (tempfile::TempDir, BrowserShim, StepContext) {
        let root = tempfile::tempdir().unwrap();
        let shim = BrowserShim::install(root.path()).unwrap();
        let ctx = StepContext::new(root.path().into(), action, Duration::from_secs(1));
        (root, shim, ctx)
    }

    #[tokio::test]
    async fn a_hanging_client_and_its_children_are_killed_at_the_deadline() {
        let (root, shim, ctx) = sandbox(BrowserAction::Approve);
        let pid_file = root.path().join("child.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        // Long enough for the shell to write the pid file on a loaded machine.
        let finished = run(&invocation(&script, Duration::from_secs(2)), &ctx, &shim).await.unwrap();
        assert!(finished.killed.is_some());
        assert_gone(&pid_file).await;
    }

    #[tokio::test]
    async fn a_cancelled_run_kills_the_group_too() {
        let (root, shim, ctx) = sandbox(BrowserAction::Approve);
        let pid_file = root.path().join("child.pid");
        let script = format!("sleep 30 & echo $! > {}; wait", pid_file.display());
        let inv = invocation(&script, Duration::from_secs(30));
        // The run is dropped mid-way, as Ctrl-C or an aborted task would.
        let _ = tokio::time::timeout(Duration::from_secs(2), run(&inv, &ctx, &shim)).await;
        assert_gone(&pid_file).await;
    }

    async fn assert_gone(pid_file: &std::path::Path) {
        let pid: i32 = std::fs::read_to_string(pid_file).unwrap().trim().parse().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // SAFETY: signal 0 only checks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0;
        let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z"));
        assert!(!alive || zombie, "the grandchild outlived the run");
    }

    #[tokio::test]
    async fn printed_authorization_urls_are_scraped_once() {
        let (_home, shim, ctx) = sandbox(BrowserAction::Abandon);
        let url = "http://127.0.0.1:9/authorize?response_type=code&client_id=c";
        // As above: the client outwaits any load, then the abandoned visit ends it.
        let script = format!("echo 'Open {url}'; echo '{url}' >&2; sleep 20");
        let mut inv = invocation(&script, Duration::from_secs(30));
        inv.scrape_urls = true;
        let finished = run(&inv, &ctx, &shim).await.unwrap();
        assert_eq!(ctx.visits().len(), 1, "printed twice, visited once");
        assert!(finished.stdout.contains("Open http"), "output is still collected");
    }

    #[tokio::test]
    async fn urls_given_to_the_shim_reach_the_browser() {
        let (_home, shim, ctx) = sandbox(BrowserAction::Abandon);
        // The browser is opened at once, before the harness may have looked at the shim: it must
        // still be visited. The client then outwaits any load; the abandoned visit gives it the
        // user's 1 s before it is killed.
        let mut inv = invocation("xdg-open http://127.0.0.1:9/authorize; sleep 20", Duration::from_secs(30));
        inv.env.extend(shim.env());
        let finished = run(&inv, &ctx, &shim).await.unwrap();
        assert_eq!(ctx.visits().len(), 1);
        let killed = finished.killed.unwrap_or_default();
        assert!(killed.contains("after the browser visit ended without reaching it"), "{killed}");
    }

    #[tokio::test]
    async fn prompts_are_answered_in_order_and_a_stop_sign_ends_the_run_as_a_success() {
        let (_home, shim, ctx) = sandbox(BrowserAction::Approve);
        // Prompts without a newline, as a REPL prints them; then the process stays up.
        let script = "printf 'go on? '; read a; printf 'mcp> '; read b; echo \"got $a $b\"; echo READY; sleep 30";
        let mut inv = invocation(script, Duration::from_secs(10));
        inv.input = Input {
            answers: vec![
                Answer { after: Some(regex::Regex::new(r"go on\? ").unwrap()), send: "yes\n".into(), repeat: false },
                Answer { after: Some(regex::Regex::new("mcp> ").unwrap()), send: "list\n".into(), repeat: true },
            ],
            hold: true,
        };
        inv.stop_when = Some(regex::Regex::new("READY").unwrap());
        let finished = run(&inv, &ctx, &shim).await.unwrap();
        assert!(finished.stopped && finished.succeeded(), "{finished:?}");
        assert!(finished.stdout.contains("got yes list"), "{}", finished.stdout);
    }

    #[tokio::test]
    async fn a_client_in_a_pty_sees_a_terminal_and_its_screen_is_read_without_escapes() {
        let (root, shim, ctx) = sandbox(BrowserAction::Approve);
        // A client that refuses to run without a terminal, prompts in colour and waits for Enter.
        let pid_file = root.path().join("child.pid");
        let script = format!(
            "[ -t 0 ] && [ -t 1 ] || exit 7; sleep 30 & echo $! > {}; printf '\\033[1mContinue?\\033[0m '; read a; printf '\\033]8;;http://x\\033\\\\link\\033]8;;\\033\\\\ got %s\\n' \"$a\"; sleep 30",
            pid_file.display()
        );
        let mut inv = invocation(&script, Duration::from_secs(10));
        inv.pty = true;
        inv.input.answers = vec![Answer {
            after: Some(regex::Regex::new(r"Continue\? ").unwrap()),
            send: "yes\r".into(),
            repeat: false,
        }];
        inv.stop_when = Some(regex::Regex::new("got yes").unwrap());
        let finished = run(&inv, &ctx, &shim).await.unwrap();
        assert!(finished.succeeded(), "{finished:?}");
        assert!(finished.stdout.contains("Continue? yes\nlink got yes"), "{:?}", finished.stdout);
        assert_gone(&pid_file).await;
    }

    #[tokio::test]
    async fn a_failure_sign_fails_the_run_with_the_last_error_line_before_it() {
        let (_home, shim, ctx) = sandbox(BrowserAction::Approve);
        // stdout and stderr are two pipes: only what came earlier in time is "before".
        let script = "echo 'Error: access_denied' >&2; echo '    at f (x.js:1:2)' >&2; sleep 0.3; echo GAVE UP; exit 0";
        let mut inv = invocation(script, Duration::from_secs(10));
        inv.fail_when = Some(regex::Regex::new("GAVE UP").unwrap());
        let finished = run(&inv, &ctx, &shim).await.unwrap();
        assert!(!finished.succeeded());
        assert_eq!(finished.error().as_deref(), Some("Error: access_denied"));
    }
}
