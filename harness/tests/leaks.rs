//! Nothing outlives a run: not a client process that hangs past its time limit (nor its
//! children), not an adapter that panics — no process, no sandbox, no listening port is left.
//! (Ctrl-C is tested in `cli.rs`.) One test, so no other run in this binary moves the counts.

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use mcp_auth_harness::client::{
    AdapterError, ClientAdapter, ClientState, Manifest, ManifestClient, Reply, ServerEntry, StepContext, Support,
};
use mcp_auth_harness::scenario::{self, Verb};
use mcp_auth_harness::{catalog, runner};

/// Loopback ports this process listens on (`/proc/net/tcp` rows in state `0A` whose socket is
/// one of this process's descriptors).
fn listening_ports() -> BTreeSet<u16> {
    let ours: BTreeSet<String> = std::fs::read_dir("/proc/self/fd")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target.strip_prefix("socket:[").and_then(|t| t.strip_suffix(']')).map(str::to_owned)
        })
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap_or_default();
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (fields.get(1)?, fields.get(3)?, fields.get(9)?);
            let (address, port) = local.split_once(':')?;
            let listening = *state == "0A" && address == "0100007F" && ours.contains(*inode);
            listening.then(|| u16::from_str_radix(port, 16).ok()).flatten()
        })
        .collect()
}

fn alive(pid: i32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    !stat.is_empty() && !stat.contains(") Z")
}

/// An adapter that panics at its second step (a harness bug a vendor's adapter could have); it
/// notes the home it was given.
struct Panicking(std::sync::Mutex<Option<std::path::PathBuf>>);

#[async_trait]
impl ClientAdapter for Panicking {
    fn name(&self) -> String {
        "panicking".into()
    }
    fn support(&self, _: Verb) -> Support {
        Support::Yes
    }
    async fn add(&self, ctx: &StepContext, _: &ServerEntry) -> Result<Reply, AdapterError> {
        *self.0.lock().unwrap() = Some(ctx.home.clone());
        Ok(Reply::success("added"))
    }
    async fn login(&self, _: &StepContext, _: &ServerEntry) -> Result<Reply, AdapterError> {
        unreachable!()
    }
    async fn list(&self, _: &StepContext) -> Result<Reply, AdapterError> {
        panic!("the adapter broke mid-run")
    }
    async fn import(&self, _: &StepContext, _: &ServerEntry) -> Result<Reply, AdapterError> {
        unreachable!()
    }
    async fn call(
        &self,
        _: &StepContext,
        _: &ServerEntry,
        _: &str,
        _: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<Reply, AdapterError> {
        unreachable!()
    }
    async fn restart(&self, _: &StepContext) -> Result<Reply, AdapterError> {
        unreachable!()
    }
    async fn logout(&self, _: &StepContext, _: &ServerEntry) -> Result<Reply, AdapterError> {
        unreachable!()
    }
    async fn remove(&self, _: &StepContext, _: &ServerEntry) -> Result<Reply, AdapterError> {
        unreachable!()
    }
    async fn state(&self, _: &std::path::Path) -> ClientState {
        ClientState::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn hanging_clients_and_panicking_adapters_leave_nothing_behind() {
    let happy = scenario::load_file(&catalog::default_dir().join("happy-path.toml")).unwrap();
    let ports = listening_ports();
    {
        let mock = mock_server::MockServer::start().await;
        let port = url::Url::parse(&mock.uri()).unwrap().port().unwrap();
        assert!(listening_ports().contains(&port), "the port probe sees a live server");
    }

    // A client that starts a helper, then hangs past its 1 s limit; it writes the helper's pid
    // where the test can read it (outside the sandbox, which is gone afterwards).
    let pids = tempfile::tempdir().unwrap();
    let manifest = format!(
        "name = \"hangs\"\nsummary = \"s\"\n[verbs.add]\nnothing = \"no registry\"\n[verbs.login]\n\
         run = [\"/bin/sh\", \"-c\", \"echo $HOME > {0}/home; sleep 60 & echo $! > {0}/helper; wait\"]\n\
         timeout_secs = 1\n",
        pids.path().display()
    );
    let file = pids.path().join("hangs.toml");
    std::fs::write(&file, manifest).unwrap();
    let hangs: Arc<dyn ClientAdapter> = Arc::new(ManifestClient::new(Manifest::load(&file).unwrap()));
    let run = runner::run(&happy, hangs, &Default::default()).await.unwrap();
    let login = run.steps.iter().find(|s| s.verb == Verb::Login).unwrap();
    assert!(login.reply.error.as_deref().unwrap_or_default().contains("timed out"), "{:?}", login.reply);
    let helper: i32 = std::fs::read_to_string(pids.path().join("helper")).unwrap().trim().parse().unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(!alive(helper), "the hung client's helper process outlived the run");
    let home = std::fs::read_to_string(pids.path().join("home")).unwrap();
    assert!(!std::path::Path::new(home.trim()).exists(), "the hung client's home outlived the run");

    // An adapter that panics mid-run: the panic reaches the caller, and the run's mock servers
    // and sandbox are dropped on the way.
    let panicking = Arc::new(Panicking(Default::default()));
    let adapter: Arc<dyn ClientAdapter> = panicking.clone();
    let joined = tokio::spawn(async move { runner::run(&happy, adapter, &Default::default()).await }).await;
    assert!(joined.is_err_and(|e| e.is_panic()), "the panic is not hidden");
    let home = panicking.0.lock().unwrap().clone().expect("the run reached the adapter");
    assert!(!home.exists(), "the panicked run's home outlived it");

    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let left_ports: Vec<u16> = listening_ports().difference(&ports).copied().collect();
    assert!(left_ports.is_empty(), "loopback ports still listening: {left_ports:?}");
}
