//! `corral shell`'s `setquota`, `listquota` and `delquota` against a real
//! server that enforces quotas: zkCli 3.8's words on the same streams
//! (stdout for the listing and the warnings, stderr for refusals and the
//! "absolute path" line), the nodes they make under `/zookeeper/quota`, and
//! the server's QuotaExceeded as zkCli prints it.

use crate::t33_shell::{output_lines, shell, text};

#[tokio::test]
async fn quota_commands_print_what_zkcli_prints() -> anyhow::Result<()> {
    let config = core_server::config::Config {
        enforce_quota: true,
        ..testkit::test_config()
    };
    let server = testkit::TestServer::start_with(config).await?;
    let script = "\
create /q x
create /q/a yy
setquota
setquota -n 3 /q
setquota -n 0 /q
setquota -n abc /q
setquota -n 2 /nope
setquota -b 10 /zookeeper/quota/x
setquota -n 1 -b 2 /q
listquota /q
setquota -N 3 /q
setquota -B 3 /q
listquota /q
create /q/b
create /q/c
set /q/a yyy
setquota -n 4 /q/a
listquota /nope
delquota -n /q
listquota /q
delquota /q
listquota /q
delquota /q
ls /zookeeper/quota
";
    let output = shell(&server.connect_string(), &[], script).await?;
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_eq!(
        output_lines(&output),
        [
            "Created /q",
            "Created /q/a",
            "Output quota for /q count=3,bytes=-1=;byteHardLimit=-1;countHardLimit=-1",
            "Output stat for /q count=2,bytes=3",
            "Output quota for /q count=3,bytes=-1=;byteHardLimit=3;countHardLimit=3",
            "Output stat for /q count=2,bytes=3",
            "Created /q/b",
            "Output quota for /q count=-1,bytes=-1=;byteHardLimit=3;countHardLimit=3",
            "Output stat for /q count=3,bytes=3",
            "Quota does not exist for /q",
            "[]",
        ]
    );
    let stderr = text(&output.stderr);
    let errors: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        errors,
        [
            "org.apache.commons.cli.MissingOptionException: Missing required option: \
             [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]",
            "the num quota must be greater than zero",
            "NumberFormatException happens when parsing the option value",
            "/nope does not exist.",
            "cannot set a quota under the path: /zookeeper/quota",
            "org.apache.commons.cli.AlreadySelectedException: The option 'b' was specified but \
             an option from this group has already been selected: 'n'",
            "absolute path is /zookeeper/quota/q/zookeeper_limits",
            "absolute path is /zookeeper/quota/q/zookeeper_limits",
            "Quota has exceeded : /q/c",
            "Quota has exceeded : /q/a",
            "/q/a has a parent /q which has a quota",
            "absolute path is /zookeeper/quota/nope/zookeeper_limits",
            "quota for /nope does not exist.",
            "absolute path is /zookeeper/quota/q/zookeeper_limits",
            "absolute path is /zookeeper/quota/q/zookeeper_limits",
            "quota for /q does not exist.",
        ]
    );
    Ok(())
}

#[tokio::test]
async fn setquota_warns_of_a_limit_below_the_usage_and_refuses_nested_quotas() -> anyhow::Result<()>
{
    let server = testkit::TestServer::start().await?;
    let script = "\
create /w
create /w/a
create /w/a/b 1234
setquota -n 4 /w/a/b
setquota -n 1 /w
setquota -b 2 /w/a
setquota -b 2 /w/a/b
";
    let output = shell(&server.connect_string(), &[], script).await?;
    assert_eq!(
        output_lines(&output)[3..],
        ["[Warning]: the bytes quota you create is less than the existing bytes:4"]
    );
    assert_eq!(
        text(&output.stderr).lines().collect::<Vec<_>>(),
        [
            "/w has a child /w/a/b which has a quota",
            "/w/a has a child /w/a/b which has a quota",
        ]
    );
    Ok(())
}
