use super::*;

const ZOOKEEPER_EXAMPLE: &str = r#"
// ZooKeeper's documented server section.
Server {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="adminsecret"
    user_bob="bobsecret";
};
/* A client section in the same file,
   as zkCli users keep it: ignored by the server. */
Client {
    org.apache.zookeeper.server.auth.DigestLoginModule required
    username="bob" password="bobsecret";
};
"#;

fn users(text: &str, section: &str) -> Vec<(String, String)> {
    parse(text)
        .expect("parses")
        .section(section)
        .expect("section")
        .users()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

#[test]
fn zookeepers_example_yields_its_users() {
    assert_eq!(
        users(ZOOKEEPER_EXAMPLE, "Server"),
        pairs(&[("super", "adminsecret"), ("bob", "bobsecret")])
    );
    let jaas = parse(ZOOKEEPER_EXAMPLE).expect("parses");
    let client = jaas.section("Client").expect("client");
    assert!(client.users().is_empty());
    assert_eq!(client.modules[0].options.len(), 2);
    assert_eq!(client.modules[0].flag, "required");
    assert!(jaas.section("server").is_none(), "names are case-sensitive");
}

#[test]
fn escapes_comments_and_layout() {
    let text =
        "Server{Mod REQUIRED user_a=\"q\\\"uote\\\\back\" /* c */ user_b=\"tab\\tnl\\n\\101\" \
                user_c=plain;Other optional user_d=\"x\";};// trailing";
    assert_eq!(
        users(text, "Server"),
        pairs(&[
            ("a", "q\"uote\\back"),
            ("b", "tab\tnl\nA"),
            ("c", "plain"),
            ("d", "x"),
        ])
    );
    // A later definition of a user wins; an empty section is allowed.
    let text = "S { M required user_a=\"1\"; N sufficient user_a=\"2\"; }; E { };";
    assert_eq!(users(text, "S"), pairs(&[("a", "2")]));
    assert!(users(text, "E").is_empty());
    // Unquoted values may hold slashes (Kerberos sections name files).
    let text = "K { Krb5 required keyTab=/etc/zk.keytab principal=\"zk/h@R\"; };";
    let jaas = parse(text).expect("parses");
    assert_eq!(
        jaas.sections[0].modules[0].options[0],
        ("keyTab".to_string(), "/etc/zk.keytab".to_string())
    );
    assert_eq!(parse("").expect("empty"), Jaas::default());
}

#[test]
fn malformed_files_say_where() {
    type Expect = fn(&JaasError) -> bool;
    let cases: [(&str, Expect); 9] = [
        ("Server {\n M required user_a=\"x\";\n}", |e| {
            matches!(e, JaasError::Syntax { line: 3, .. })
        }),
        ("Server {\n M required user_a=\"x;\n};", |e| {
            matches!(e, JaasError::UnterminatedString { line: 2 })
        }),
        ("Server { M required user_a=\"x\"; }; /* open", |e| {
            matches!(e, JaasError::UnterminatedComment { line: 1 })
        }),
        ("Server {\n\n M mandatory user_a=\"x\"; };", |e| {
            matches!(e, JaasError::Flag { line: 3, .. })
        }),
        ("Server { M required user_a \"x\"; };", |e| {
            matches!(e, JaasError::Syntax { .. })
        }),
        ("Server { M required user_a=; };", |e| {
            matches!(e, JaasError::Syntax { .. })
        }),
        ("Server { M required };", |e| {
            matches!(e, JaasError::Syntax { .. })
        }),
        ("A { }; A { };", |e| {
            matches!(e, JaasError::DuplicateSection(_))
        }),
        ("Server M required;", |e| {
            matches!(e, JaasError::Syntax { .. })
        }),
    ];
    for (text, expected) in cases {
        match parse(text) {
            Err(e) if expected(&e) => assert!(!e.to_string().is_empty()),
            other => panic!("{text:?}: {other:?}"),
        }
    }
}
