//! RFC 2831 directive lists (`key=token` or `key="quoted string"`, comma
//! separated, with linear white space around the parts), as DIGEST-MD5
//! challenges and responses carry them.

use super::digest_md5::DigestError;

/// One parsed directive: the key in lower case (keys are case-insensitive)
/// and the value with quoting and escapes removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// The key, lower case.
    pub key: String,
    /// The value's bytes.
    pub value: Vec<u8>,
}

fn is_lws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

/// Parses a directive list. Empty elements (`a=1,,b=2`) are allowed, as
/// RFC 2831's `#rule` says; anything else malformed is an error.
pub fn parse(input: &[u8]) -> Result<Vec<Directive>, DigestError> {
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < input.len() && (is_lws(input[i]) || input[i] == b',') {
            i += 1;
        }
        if i == input.len() {
            return Ok(out);
        }
        let start = i;
        while i < input.len() && input[i] != b'=' && input[i] != b',' && !is_lws(input[i]) {
            i += 1;
        }
        let key = std::str::from_utf8(&input[start..i])
            .map_err(|_| DigestError::Malformed("a directive name is not text"))?
            .to_ascii_lowercase();
        while i < input.len() && is_lws(input[i]) {
            i += 1;
        }
        if key.is_empty() || input.get(i) != Some(&b'=') {
            return Err(DigestError::Malformed("expected name=value"));
        }
        i += 1;
        while i < input.len() && is_lws(input[i]) {
            i += 1;
        }
        let mut value = Vec::new();
        if input.get(i) == Some(&b'"') {
            i += 1;
            loop {
                match input.get(i) {
                    None => return Err(DigestError::Malformed("unterminated quoted string")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') => {
                        let escaped = input
                            .get(i + 1)
                            .ok_or(DigestError::Malformed("unterminated quoted string"))?;
                        value.push(*escaped);
                        i += 2;
                    }
                    Some(&b) => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
        } else {
            let start = i;
            while i < input.len() && input[i] != b',' && !is_lws(input[i]) {
                i += 1;
            }
            value.extend_from_slice(&input[start..i]);
        }
        while i < input.len() && is_lws(input[i]) {
            i += 1;
        }
        if i < input.len() && input[i] != b',' {
            return Err(DigestError::Malformed(
                "expected a comma between directives",
            ));
        }
        out.push(Directive { key, value });
    }
}

/// Appends `value` as a quoted string (backslash before `"` and `\`).
pub fn push_quoted(out: &mut Vec<u8>, value: &[u8]) {
    out.push(b'"');
    for &b in value {
        if b == b'"' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &str) -> Vec<(String, String)> {
        parse(input.as_bytes())
            .expect("parses")
            .into_iter()
            .map(|d| (d.key, String::from_utf8(d.value).expect("utf-8")))
            .collect()
    }

    #[test]
    fn tokens_quoted_strings_escapes_and_white_space() {
        assert_eq!(
            pairs(" Username = \"ch\\\"ris\" ,nc=00000001,, qop=auth ,realm=\"a,b\""),
            [
                ("username", "ch\"ris"),
                ("nc", "00000001"),
                ("qop", "auth"),
                ("realm", "a,b"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        assert!(pairs("").is_empty());
        assert_eq!(pairs("a=")[0].1, "");
    }

    #[test]
    fn malformed_lists_are_errors() {
        for bad in [
            "novalue",
            "=x",
            "a=\"open",
            "a=\"trailing\\",
            "a=b c=d",
            "a=\"q\"x",
        ] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn quoting_round_trips() {
        let mut out = b"k=".to_vec();
        push_quoted(&mut out, b"a\"b\\c");
        let parsed = parse(&out).expect("parses");
        assert_eq!(parsed[0].value, b"a\"b\\c");
    }
}
