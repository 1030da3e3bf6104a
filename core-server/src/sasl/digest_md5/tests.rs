use super::*;

/// RFC 2831 §4's example.
const RFC: Params<'static> = Params {
    realm: "elwood.innosoft.com",
    digest_uri: "imap/elwood.innosoft.com",
};

fn rfc_password(user: &str) -> Option<&'static str> {
    (user == "chris").then_some("secret")
}

/// A client's digest-response for `password` (pure-sasl's and Java's
/// layout), with `extra` directives appended.
fn client_response(
    params: &Params<'_>,
    user: &str,
    password: &str,
    nonce: &str,
    extra: &str,
) -> Vec<u8> {
    let cnonce = "OA6MHXh6VqTrRk";
    let secret = Secret {
        user,
        realm: params.realm,
        password,
        nonce,
        cnonce,
        authzid: None,
    };
    let response = secret.response_value("AUTHENTICATE", params.digest_uri);
    format!(
        "charset=utf-8,username=\"{user}\",realm=\"{}\",nonce=\"{nonce}\",nc=00000001,\
         cnonce=\"{cnonce}\",digest-uri=\"{}\",response={response},qop=auth{extra}",
        params.realm, params.digest_uri
    )
    .into_bytes()
}

/// An exchange that has sent its challenge with nonce `nonce`.
fn challenged(params: &Params<'_>, nonce: &str) -> Exchange {
    let mut exchange = Exchange::default();
    let first = exchange.step(params, b"", || nonce.to_string(), rfc_password);
    assert!(matches!(first, Ok(Step::Challenge(_))), "{first:?}");
    exchange
}

#[test]
fn the_rfc_2831_example_verifies_and_gets_its_rspauth() {
    let mut exchange = Exchange::default();
    let Ok(Step::Challenge(challenge)) =
        exchange.step(&RFC, b"", || "OA6MG9tEQGm2hh".to_string(), rfc_password)
    else {
        panic!("no challenge");
    };
    assert_eq!(
        String::from_utf8_lossy(&challenge),
        "realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",qop=\"auth\",charset=utf-8,algorithm=md5-sess"
    );
    // The RFC's response, verbatim.
    let response = b"charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",\
        nonce=\"OA6MG9tEQGm2hh\",nc=00000001,cnonce=\"OA6MHXh6VqTrRk\",\
        digest-uri=\"imap/elwood.innosoft.com\",\
        response=d388dad90d4bbd760a152321f2143af7,qop=auth";
    let done = exchange.step(&RFC, response, String::new, rfc_password);
    assert_eq!(
        done,
        Ok(Step::Complete {
            user: "chris".to_string(),
            token: b"rspauth=ea40f60335c427b5527b84dbabcdfffd".to_vec(),
        })
    );
    // Over: anything more fails, the same response included.
    assert_eq!(
        exchange.step(&RFC, response, String::new, rfc_password),
        Err(DigestError::Finished)
    );
}

#[test]
fn zookeeper_parameters_and_a_computed_client_response() {
    let mut exchange = challenged(&ZOOKEEPER, "n0nce");
    let response = client_response(&ZOOKEEPER, "bob", "bobsecret", "n0nce", "");
    let done = exchange.step(&ZOOKEEPER, &response, String::new, |u: &str| {
        (u == "bob").then_some("bobsecret")
    });
    assert!(
        matches!(done, Ok(Step::Complete { ref user, .. }) if user == "bob"),
        "{done:?}"
    );
}

#[test]
fn a_wrong_password_or_an_unknown_user_fails() {
    let mut exchange = challenged(&RFC, "n1");
    let response = client_response(&RFC, "chris", "guess", "n1", "");
    assert_eq!(
        exchange.step(&RFC, &response, String::new, rfc_password),
        Err(DigestError::WrongResponse("chris".to_string()))
    );
    let mut exchange = challenged(&RFC, "n1");
    let response = client_response(&RFC, "mallory", "secret", "n1", "");
    assert_eq!(
        exchange.step(&RFC, &response, String::new, rfc_password),
        Err(DigestError::UnknownUser("mallory".to_string()))
    );
    // A failed exchange is over too.
    let good = client_response(&RFC, "chris", "secret", "n1", "");
    assert_eq!(
        exchange.step(&RFC, &good, String::new, rfc_password),
        Err(DigestError::Finished)
    );
}

#[test]
fn a_replayed_response_for_another_nonce_fails() {
    // A response recorded from an exchange with nonce A, replayed into one
    // that offered nonce B.
    let recorded = client_response(&RFC, "chris", "secret", "nonce-A", "");
    let mut exchange = challenged(&RFC, "nonce-B");
    assert_eq!(
        exchange.step(&RFC, &recorded, String::new, rfc_password),
        Err(DigestError::Nonce)
    );
}

#[test]
fn a_nonce_count_other_than_one_fails() {
    let response = client_response(&RFC, "chris", "secret", "n", "")
        .into_iter()
        .collect::<Vec<u8>>();
    let text = String::from_utf8(response).expect("ascii");
    for nc in ["00000002", "zz", "100000001"] {
        let bad = text.replace("nc=00000001", &format!("nc={nc}"));
        let mut exchange = challenged(&RFC, "n");
        assert_eq!(
            exchange.step(&RFC, bad.as_bytes(), String::new, rfc_password),
            Err(DigestError::NonceCount(nc.to_string())),
        );
    }
}

#[test]
fn the_digest_uri_realm_qop_and_charset_are_checked() {
    let good = String::from_utf8(client_response(&RFC, "chris", "secret", "n", "")).expect("a");
    type Expect = fn(&DigestError) -> bool;
    let cases: [(&str, &str, Expect); 5] = [
        ("imap/elwood.innosoft.com", "zookeeper/zk-sasl-md5", |e| {
            matches!(e, DigestError::DigestUri { .. })
        }),
        ("realm=\"elwood.innosoft.com\"", "realm=\"evil\"", |e| {
            matches!(e, DigestError::Realm(_))
        }),
        ("qop=auth", "qop=auth-conf", |e| {
            matches!(e, DigestError::Unsupported { what: "qop", .. })
        }),
        ("charset=utf-8", "charset=latin1", |e| {
            matches!(
                e,
                DigestError::Unsupported {
                    what: "charset",
                    ..
                }
            )
        }),
        (",nc=00000001", ",nc=00000001,nc=00000001", |e| {
            matches!(e, DigestError::Duplicate(_))
        }),
    ];
    for (from, to, expected) in cases {
        let bad = good.replace(from, to);
        let mut exchange = challenged(&RFC, "n");
        match exchange.step(&RFC, bad.as_bytes(), String::new, rfc_password) {
            Err(e) if expected(&e) => {}
            other => panic!("{to}: {other:?}"),
        }
    }
    // The digest-uri is compared without regard to case (as Java does).
    let upper = good.replace("imap/elwood", "IMAP/Elwood");
    let mut exchange = challenged(&RFC, "n");
    assert!(exchange
        .step(&RFC, upper.as_bytes(), String::new, rfc_password)
        .is_err_and(|e| matches!(e, DigestError::WrongResponse(_))));
}

#[test]
fn hostile_tokens_fail_without_panicking() {
    let huge = vec![b'a'; MAX_RESPONSE_BYTES + 1];
    let mut first = Exchange::default();
    assert_eq!(
        first.step(&RFC, &huge, String::new, rfc_password),
        Err(DigestError::TooLong(huge.len()))
    );
    let garbage: [&[u8]; 8] = [
        b"\xff\xfe\x00garbage",
        b"username",
        b"username=\"chris",
        b"=====",
        b",,,,",
        b"username=\"\xff\"",
        b"username=chris,nonce=n",
        &huge,
    ];
    for token in garbage {
        let mut exchange = challenged(&RFC, "n");
        assert!(
            exchange
                .step(&RFC, token, String::new, rfc_password)
                .is_err(),
            "{:?} passed",
            String::from_utf8_lossy(token)
        );
        assert_eq!(
            exchange.step(&RFC, b"", String::new, rfc_password),
            Err(DigestError::Finished)
        );
    }
    // An initial response in the first token is ignored, as Java does.
    let mut exchange = Exchange::default();
    let first = exchange.step(&RFC, b"username=\"x\"", || "n".into(), rfc_password);
    assert!(matches!(first, Ok(Step::Challenge(_))));
}

#[test]
fn an_authzid_is_part_of_a1() {
    let nonce = "n";
    let secret = Secret {
        user: "chris",
        realm: RFC.realm,
        password: "secret",
        nonce,
        cnonce: "c",
        authzid: Some(b"admin"),
    };
    let response = secret.response_value("AUTHENTICATE", RFC.digest_uri);
    let token = format!(
        "username=\"chris\",realm=\"{}\",nonce=\"n\",cnonce=\"c\",nc=00000001,qop=auth,\
         digest-uri=\"{}\",response={response},authzid=\"admin\"",
        RFC.realm, RFC.digest_uri
    );
    let mut exchange = challenged(&RFC, nonce);
    let done = exchange.step(&RFC, token.as_bytes(), String::new, rfc_password);
    // The identity is the authenticated user, as ZooKeeper's callback sets it.
    assert!(
        matches!(done, Ok(Step::Complete { ref user, .. }) if user == "chris"),
        "{done:?}"
    );
    let without = token.replace(",authzid=\"admin\"", "");
    let mut exchange = challenged(&RFC, nonce);
    assert!(exchange
        .step(&RFC, without.as_bytes(), String::new, rfc_password)
        .is_err());
}

#[test]
fn latin1_text_is_hashed_as_latin1() {
    assert_eq!(latin1_or_utf8("pässword"), b"p\xe4ssword");
    assert_eq!(latin1_or_utf8("€"), "€".as_bytes());
    assert!(constant_time_eq(b"abc", b"abc"));
    assert!(!constant_time_eq(b"abc", b"abd"));
    assert!(!constant_time_eq(b"abc", b"ab"));
}
