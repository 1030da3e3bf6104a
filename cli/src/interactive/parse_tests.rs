//! Unit tests of `parse`: words, options and commands as zkCli reads them.

use super::*;

fn words(line: &str) -> Vec<String> {
    tokenize(line).expect("tokenizes")
}

fn cmd(line: &str) -> Result<Command, ParseError> {
    parse(&words(line))
}

#[test]
fn words_split_like_zkcli() {
    assert_eq!(words("  ls   /a "), ["ls", "/a"]);
    assert_eq!(
        words("create /q \"hello world\""),
        ["create", "/q", "hello world"]
    );
    assert_eq!(words("create /q 'single q'"), ["create", "/q", "single q"]);
    assert_eq!(words("create /e \"\""), ["create", "/e", ""]);
    assert_eq!(words(r#"set /j {"a":1}"#), ["set", "/j", r#"{"a":1}"#]);
    assert_eq!(
        tokenize("set /x \"open"),
        Err(ParseError::UnterminatedQuote)
    );
    assert!(words("   ").is_empty());
}

#[test]
fn ls_takes_its_switches_in_any_order_and_bundled() {
    let expect = Command::Ls {
        path: "/a".into(),
        stat: true,
        watch: false,
        recursive: true,
    };
    assert_eq!(cmd("ls -R -s /a"), Ok(expect.clone()));
    assert_eq!(cmd("ls -sR /a"), Ok(expect.clone()));
    assert_eq!(cmd("ls /a -s -R"), Ok(expect));
    assert_eq!(
        cmd("ls -x /a"),
        Err(ParseError::Usage("ls [-s] [-w] [-R] path"))
    );
    assert_eq!(cmd("ls"), Err(ParseError::Usage("ls [-s] [-w] [-R] path")));
}

#[test]
fn set_takes_a_version_and_dash_dash_ends_options() {
    assert_eq!(
        cmd("set -v 3 /a data"),
        Ok(Command::Set {
            path: "/a".into(),
            data: "data".into(),
            version: Some(3),
            stat: false
        })
    );
    assert_eq!(
        cmd("set -s /a -- -1"),
        Ok(Command::Set {
            path: "/a".into(),
            data: "-1".into(),
            version: None,
            stat: true
        })
    );
    assert_eq!(
        cmd("set -v x /a d"),
        Err(ParseError::Usage("set [-s] [-v version] path data"))
    );
    assert_eq!(
        cmd("set /a"),
        Err(ParseError::Usage("set [-s] [-v version] path data"))
    );
}

#[test]
fn create_reads_modes_ttl_data_and_acl() {
    assert_eq!(
        cmd("create -e -s /w- x world:anyone:r"),
        Ok(Command::Create {
            path: "/w-".into(),
            data: Some("x".into()),
            acl: vec![Acl::new(client::perms::READ, "world", "anyone")],
            ephemeral: true,
            sequential: true,
            container: false,
            ttl_ms: None,
        })
    );
    assert!(matches!(
        cmd("create /n"),
        Ok(Command::Create { data: None, .. })
    ));
    assert!(matches!(
        cmd("create -t 500 /t"),
        Ok(Command::Create {
            ttl_ms: Some(500),
            ..
        })
    ));
    assert!(matches!(
        cmd("create -e -c /x"),
        Err(ParseError::CreateFlags(_))
    ));
    assert!(matches!(
        cmd("create -t 5 -e /x"),
        Err(ParseError::CreateFlags(_))
    ));
    assert!(matches!(
        cmd("create /x d bogus"),
        Err(ParseError::Acl(AclError::Form(_)))
    ));
    assert!(matches!(
        cmd("create -t soon /x"),
        Err(ParseError::Usage(_))
    ));
}

#[test]
fn aliases_and_unknown_commands() {
    assert_eq!(cmd("exit"), Ok(Command::Quit));
    assert_eq!(cmd("rmr /a"), Ok(Command::DeleteAll { path: "/a".into() }));
    assert_eq!(
        cmd("bogus /a"),
        Err(ParseError::UnknownCommand("bogus".into()))
    );
    assert_eq!(
        cmd("bogus").map_err(|e| e.to_string()),
        Err("Command not found: bogus".to_string())
    );
}

#[test]
fn redo_needs_a_number_and_tree_defaults_to_the_root() {
    assert_eq!(cmd("redo 4"), Ok(Command::Redo { number: 4 }));
    assert_eq!(cmd("redo x"), Err(ParseError::Usage("redo cmdno")));
    assert_eq!(cmd("tree"), Ok(Command::Tree { path: "/".into() }));
    assert!(matches!(
        cmd("setAcl -R /a digest:bob:h:cdrwa"),
        Ok(Command::SetAcl {
            recursive: true,
            ..
        })
    ));
    assert_eq!(
        cmd("addauth digest"),
        Err(ParseError::Usage("addauth scheme auth"))
    );
}

#[test]
fn session_watch_and_transfer_commands_parse_as_zkcli_words_them() {
    assert_eq!(cmd("connect"), Ok(Command::Connect { hosts: None }));
    assert_eq!(
        cmd("connect a:1,b:2"),
        Ok(Command::Connect {
            hosts: Some("a:1,b:2".into())
        })
    );
    assert_eq!(
        cmd("printwatches on"),
        Ok(Command::PrintWatches { is_on: Some(true) })
    );
    assert_eq!(
        cmd("printwatches bogus"),
        Ok(Command::PrintWatches { is_on: Some(false) }),
        "zkCli: anything but on is off"
    );
    assert_eq!(
        cmd("removewatches /a -d"),
        Ok(Command::RemoveWatches {
            path: "/a".into(),
            kind: WatcherType::Data
        })
    );
    assert!(matches!(
        cmd("removewatches /a"),
        Ok(Command::RemoveWatches {
            kind: WatcherType::Any,
            ..
        })
    ));
    assert_eq!(
        cmd("load -f d.json /to"),
        Ok(Command::Load {
            file: "d.json".into(),
            path: Some("/to".into()),
            overwrite: true
        })
    );
    assert_eq!(
        cmd("dump /a -"),
        Ok(Command::Dump {
            path: "/a".into(),
            file: None
        })
    );
    assert_eq!(cmd("dump"), Err(ParseError::Usage("dump path [file]")));
    assert_eq!(
        cmd("addWatch -m PERSISTENT /a"),
        Ok(Command::AddWatch {
            path: "/a".into(),
            mode: AddWatchMode::Persistent
        })
    );
    assert!(matches!(
        cmd("addWatch /a"),
        Ok(Command::AddWatch {
            mode: AddWatchMode::PersistentRecursive,
            ..
        })
    ));
    assert!(matches!(
        cmd("addWatch -m ONCE /a"),
        Err(ParseError::Usage(_))
    ));
}

#[test]
fn every_catalog_command_has_a_usage_and_parses_its_own_name() {
    for spec in CATALOG {
        assert!(spec.usage.starts_with(spec.name), "{spec:?}");
        assert!(
            !matches!(cmd(spec.name), Err(ParseError::UnknownCommand(_))),
            "{}",
            spec.name
        );
    }
}
