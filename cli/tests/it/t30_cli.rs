//! The `corral` shell commands against a real server, as a person or a script
//! would run them.

use std::process::Command;

async fn corral(addr: String, args: &[&str]) -> anyhow::Result<String> {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_corral"))
            .arg("--server")
            .arg(addr)
            .args(&args)
            .output()
    })
    .await??;
    anyhow::ensure!(
        output.status.success(),
        "corral failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Ok(String::from_utf8(output.stdout)?)
}

#[tokio::test]
async fn shell_commands_create_read_and_delete() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let addr = server.connect_string();
    assert_eq!(
        corral(addr.clone(), &["create", "/app", "hello"])
            .await?
            .trim(),
        "Created /app"
    );
    let out = corral(addr.clone(), &["create", "-s", "/app/job-", "x"]).await?;
    assert_eq!(out.trim(), "Created /app/job-0000000000");
    assert_eq!(
        corral(addr.clone(), &["get", "/app"]).await?.trim(),
        "hello"
    );
    corral(addr.clone(), &["set", "/app", "world"]).await?;
    let json: serde_json::Value =
        serde_json::from_str(&corral(addr.clone(), &["--json", "get", "/app"]).await?)?;
    assert_eq!(json["data"], "world");
    assert_eq!(json["stat"]["version"], 1);
    let ls: serde_json::Value =
        serde_json::from_str(&corral(addr.clone(), &["ls", "/app", "--json"]).await?)?;
    assert_eq!(ls["children"], serde_json::json!(["job-0000000000"]));
    let stat = corral(addr.clone(), &["stat", "/app"]).await?;
    assert!(stat.contains("numChildren = 1"), "{stat}");
    corral(addr.clone(), &["create", "--ttl", "60000", "/ttl"]).await?;
    corral(addr.clone(), &["delete", "-r", "/app"]).await?;
    assert_eq!(
        corral(addr.clone(), &["ls", "/"]).await?.trim(),
        "[ttl, zookeeper]"
    );
    Ok(())
}

#[tokio::test]
async fn shell_errors_are_reported_not_panicked() -> anyhow::Result<()> {
    let server = testkit::TestServer::start().await?;
    let addr = server.connect_string();
    let err = corral(addr.clone(), &["get", "/missing"])
        .await
        .expect_err("must fail");
    assert!(err.to_string().contains("no node at /missing"), "{err}");
    let err = corral(addr, &["create", "-e", "-c", "/x"])
        .await
        .expect_err("must fail");
    assert!(err.to_string().contains("cannot be combined"), "{err}");
    Ok(())
}
