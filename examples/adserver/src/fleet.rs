//! The fleet as the driver sees it: workers running as tasks in this process,
//! or as separate processes reporting over their stdout.

use crate::model::BudgetSplit;
use crate::worker::Worker;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a worker process reports, one JSON line every 100 ms.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Report {
    /// Ads served so far.
    pub served: u64,
    /// Reconciliation rounds completed.
    pub reconciled: u64,
    /// Whether it is the coordinator.
    pub coordinator: bool,
    /// The split it follows.
    pub budget: BudgetSplit,
}

/// One member of the fleet.
pub enum Member {
    /// A worker task in this process.
    Task(Worker),
    /// A worker process.
    Process {
        /// Its id.
        id: String,
        /// The child.
        child: Child,
        /// Its latest report.
        report: Arc<Mutex<Report>>,
    },
}

impl Member {
    /// Starts a worker process running `adserver --worker ID --server ADDR`.
    pub fn spawn(connect: &str, id: &str) -> anyhow::Result<Member> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["--worker", id, "--server", connect])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("no stdout"))?;
        let report = Arc::new(Mutex::new(Report::default()));
        let sink = report.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if let (Ok(r), Ok(mut slot)) = (serde_json::from_str::<Report>(&line), sink.lock())
                {
                    *slot = r;
                }
            }
        });
        Ok(Member::Process {
            id: id.to_string(),
            child,
            report,
        })
    }

    fn report(&self) -> Report {
        match self {
            Member::Task(w) => Report {
                served: w.served.load(Ordering::Relaxed),
                reconciled: w.reconciled.load(Ordering::Relaxed),
                coordinator: w.is_coordinator(),
                budget: w.budget(),
            },
            Member::Process { report, .. } => report.lock().map(|r| r.clone()).unwrap_or_default(),
        }
    }

    /// Its id.
    pub fn id(&self) -> &str {
        match self {
            Member::Task(w) => &w.id,
            Member::Process { id, .. } => id,
        }
    }

    /// Ads served so far.
    pub fn served(&self) -> u64 {
        self.report().served
    }

    /// Reconciliation rounds completed.
    pub fn reconciled(&self) -> u64 {
        self.report().reconciled
    }

    /// Whether it is the coordinator.
    pub fn is_coordinator(&self) -> bool {
        self.report().coordinator
    }

    /// The split it follows.
    pub fn budget(&self) -> BudgetSplit {
        self.report().budget
    }

    /// Stops it: a task closes its session (a clean shutdown); a process is
    /// killed with SIGKILL (a crash: its session expires after its timeout).
    pub async fn kill(self) {
        match self {
            Member::Task(w) => w.kill().await,
            Member::Process { mut child, .. } => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The `--worker` mode: run one worker and report until killed.
pub async fn run_worker_process(connect: &str, id: &str) -> anyhow::Result<()> {
    let worker = Worker::start(connect, id).await?;
    let member = Member::Task(worker);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        tick.tick().await;
        println!("{}", serde_json::to_string(&member.report())?);
    }
}
