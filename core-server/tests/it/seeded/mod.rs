//! The seeded differential generator (issue 14): random workloads drawn
//! from a seed ([`ops`]), run against two servers over bare ZooKeeper frames
//! ([`run`]), and the two transcripts compared line by line.

pub mod ops;
pub mod run;

use std::net::SocketAddr;

/// The first line where two transcripts differ, with a little context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// The seed.
    pub seed: u64,
    /// The line number.
    pub line: usize,
    /// The reference's lines around it (the differing one last).
    pub expected: Vec<String>,
    /// The other server's line there (or `<end>`).
    pub actual: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "seed {} differs at line {}:", self.seed, self.line)?;
        for line in &self.expected {
            writeln!(f, "  reference: {line}")?;
        }
        write!(f, "  corral:    {}", self.actual)
    }
}

/// Runs seed `seed` (`steps` operations) against `reference` and `other`
/// under fresh roots and returns the first difference, if any.
pub async fn compare(
    seed: u64,
    steps: usize,
    reference: SocketAddr,
    other: SocketAddr,
) -> anyhow::Result<Option<Difference>> {
    let workload = ops::workload(seed, steps);
    static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    // Two levels, so that even a sequential create named after the root
    // itself lands under a parent of this run alone.
    let root = format!("/seed-{seed}-{}-{run}/r", std::process::id());
    let expected = run::transcript(reference, &root, &workload).await?;
    let actual = run::transcript(other, &root, &workload).await?;
    if std::env::var_os("CORRAL_DIFF_DUMP").is_some() {
        for (who, lines) in [("reference", &expected), ("other", &actual)] {
            for line in lines.iter() {
                eprintln!("{who} seed {seed}: {line}");
            }
        }
    }
    let end = "<end>".to_string();
    for line in 0..expected.len().max(actual.len()) {
        let (e, a) = (expected.get(line), actual.get(line));
        if e != a {
            let from = line.saturating_sub(3);
            let upto = (line + 1).min(expected.len());
            return Ok(Some(Difference {
                seed,
                line,
                expected: expected[from..upto.max(from)].to_vec(),
                actual: a.unwrap_or(&end).clone(),
            }));
        }
    }
    Ok(None)
}
