//! Java's JAAS login configuration format, as ZooKeeper reads its users from
//! it: sections of login modules with options,
//!
//! ```text
//! Server {
//!     org.apache.zookeeper.server.auth.DigestLoginModule required
//!     user_super="adminsecret"
//!     user_bob="bobsecret";
//! };
//! ```
//!
//! with `//` and `/* */` comments, and quoted values with Java's escapes
//! (`\n`, `\t`, `\"`, `\\`, octal `\101`, ...). Pure text to structure.

/// A parsed file: its sections in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Jaas {
    /// The sections (login contexts).
    pub sections: Vec<Section>,
}

/// One login context: `Name { module...; };`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// Its name (`Server`, `Client`, ...).
    pub name: String,
    /// Its login modules in order.
    pub modules: Vec<Module>,
}

/// One login module line: class, flag and options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// The module's class name.
    pub class: String,
    /// `required`, `requisite`, `sufficient` or `optional`.
    pub flag: String,
    /// `name=value` options in order.
    pub options: Vec<(String, String)>,
}

/// Why a file is not valid JAAS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JaasError {
    /// Something other than what the grammar allows at this point.
    #[error("line {line}: expected {expected}, found {found}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// What the grammar wanted.
        expected: &'static str,
        /// What was there.
        found: String,
    },
    /// A quoted value not closed on its line.
    #[error("line {line}: unterminated quoted string")]
    UnterminatedString {
        /// 1-based line where it started.
        line: usize,
    },
    /// A `/*` comment never closed.
    #[error("line {line}: unterminated comment")]
    UnterminatedComment {
        /// 1-based line where it started.
        line: usize,
    },
    /// A control flag other than the four JAAS knows.
    #[error(
        "line {line}: unknown control flag {flag:?} (required, requisite, sufficient or optional)"
    )]
    Flag {
        /// 1-based line.
        line: usize,
        /// The flag.
        flag: String,
    },
    /// Two sections with one name.
    #[error("section {0:?} appears twice")]
    DuplicateSection(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Quoted(String),
    Punct(char),
}

impl Token {
    fn shown(&self) -> String {
        match self {
            Token::Word(w) => format!("{w:?}"),
            // Never the value: it may be a password.
            Token::Quoted(_) => "a quoted value".to_string(),
            Token::Punct(c) => format!("'{c}'"),
        }
    }
}

/// Word characters: anything but white space, quotes and `{ } ; =` (a
/// `/` starts a comment only where a token could start).
fn is_word(c: char) -> bool {
    !c.is_whitespace() && !matches!(c, '{' | '}' | ';' | '=' | '"')
}

/// Splits into (line, token); comments and white space go.
fn tokens(text: &str) -> Result<Vec<(usize, Token)>, JaasError> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '/' if chars.peek() == Some(&'/') => {
                while chars.peek().is_some_and(|&c| c != '\n') {
                    chars.next();
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let start = line;
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        None => return Err(JaasError::UnterminatedComment { line: start }),
                        Some('/') if prev == '*' => break,
                        Some(c) => {
                            if c == '\n' {
                                line += 1;
                            }
                            // `*/` needs a fresh `*`: in `/*/` the opening one does not count.
                            prev = c;
                        }
                    }
                }
            }
            '"' => out.push((line, Token::Quoted(quoted(&mut chars, line)?))),
            '{' | '}' | ';' | '=' => out.push((line, Token::Punct(c))),
            c if is_word(c) => {
                let mut word = c.to_string();
                while let Some(&next) = chars.peek() {
                    if !is_word(next) {
                        break;
                    }
                    word.push(next);
                    chars.next();
                }
                out.push((line, Token::Word(word)));
            }
            c => {
                return Err(JaasError::Syntax {
                    line,
                    expected: "a name, a quoted value or one of { } ; =",
                    found: format!("'{c}'"),
                })
            }
        }
    }
    Ok(out)
}

/// The rest of a quoted string, with Java `StreamTokenizer`'s escapes.
fn quoted(
    chars: &mut std::iter::Peekable<std::str::Chars<'_>>,
    line: usize,
) -> Result<String, JaasError> {
    let mut value = String::new();
    loop {
        match chars.next() {
            None | Some('\n') => return Err(JaasError::UnterminatedString { line }),
            Some('"') => return Ok(value),
            Some('\\') => {
                let Some(escaped) = chars.next() else {
                    return Err(JaasError::UnterminatedString { line });
                };
                value.push(match escaped {
                    'a' => '\x07',
                    'b' => '\x08',
                    'f' => '\x0c',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\x0b',
                    '0'..='7' => {
                        let mut code = escaped as u32 - '0' as u32;
                        // Up to three digits, the first at most 3 (\377).
                        let most = if escaped <= '3' { 2 } else { 1 };
                        for _ in 0..most {
                            match chars.peek() {
                                Some(&d @ '0'..='7') => {
                                    code = code * 8 + (d as u32 - '0' as u32);
                                    chars.next();
                                }
                                _ => break,
                            }
                        }
                        char::from_u32(code).unwrap_or('\u{fffd}')
                    }
                    other => other,
                });
            }
            Some(c) => value.push(c),
        }
    }
}

struct Parser {
    tokens: std::iter::Peekable<std::vec::IntoIter<(usize, Token)>>,
    last_line: usize,
}

impl Parser {
    fn next(&mut self, expected: &'static str) -> Result<(usize, Token), JaasError> {
        match self.tokens.next() {
            Some((line, token)) => {
                self.last_line = line;
                Ok((line, token))
            }
            None => Err(JaasError::Syntax {
                line: self.last_line,
                expected,
                found: "the end of the file".to_string(),
            }),
        }
    }

    fn word(&mut self, expected: &'static str) -> Result<(usize, String), JaasError> {
        match self.next(expected)? {
            (line, Token::Word(w)) => Ok((line, w)),
            (line, other) => Err(JaasError::Syntax {
                line,
                expected,
                found: other.shown(),
            }),
        }
    }

    fn punct(&mut self, c: char, expected: &'static str) -> Result<(), JaasError> {
        match self.next(expected)? {
            (_, Token::Punct(p)) if p == c => Ok(()),
            (line, other) => Err(JaasError::Syntax {
                line,
                expected,
                found: other.shown(),
            }),
        }
    }

    fn peek_punct(&mut self, c: char) -> bool {
        matches!(self.tokens.peek(), Some((_, Token::Punct(p))) if *p == c)
    }

    fn module(&mut self) -> Result<Module, JaasError> {
        let (_, class) = self.word("a login module class")?;
        let (line, flag) = self.word("a control flag")?;
        let lower = flag.to_ascii_lowercase();
        if !matches!(
            lower.as_str(),
            "required" | "requisite" | "sufficient" | "optional"
        ) {
            return Err(JaasError::Flag { line, flag });
        }
        let mut options = Vec::new();
        while !self.peek_punct(';') {
            let (_, name) = self.word("an option name or ';'")?;
            self.punct('=', "'=' after an option name")?;
            let value = match self.next("an option value")? {
                (_, Token::Quoted(v) | Token::Word(v)) => v,
                (line, other) => {
                    return Err(JaasError::Syntax {
                        line,
                        expected: "an option value",
                        found: other.shown(),
                    })
                }
            };
            options.push((name, value));
        }
        self.punct(';', "';' after a login module")?;
        Ok(Module {
            class,
            flag: lower,
            options,
        })
    }
}

/// Parses a whole file.
pub fn parse(text: &str) -> Result<Jaas, JaasError> {
    let mut p = Parser {
        tokens: tokens(text)?.into_iter().peekable(),
        last_line: 1,
    };
    let mut jaas = Jaas::default();
    while p.tokens.peek().is_some() {
        let (_, name) = p.word("a section name")?;
        if jaas.sections.iter().any(|s| s.name == name) {
            return Err(JaasError::DuplicateSection(name));
        }
        p.punct('{', "'{' after a section name")?;
        let mut modules = Vec::new();
        while !p.peek_punct('}') {
            modules.push(p.module()?);
        }
        p.punct('}', "'}'")?;
        p.punct(';', "';' after '}'")?;
        jaas.sections.push(Section { name, modules });
    }
    Ok(jaas)
}

impl Jaas {
    /// The section called `name`, if any.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }
}

impl Section {
    /// `user_NAME="password"` options of all its modules, as ZooKeeper's
    /// `SaslServerCallbackHandler` reads them (a later one wins).
    pub fn users(&self) -> Vec<(String, String)> {
        let mut users: Vec<(String, String)> = Vec::new();
        for (key, value) in self.modules.iter().flat_map(|m| &m.options) {
            let Some(user) = key.strip_prefix("user_") else {
                continue;
            };
            users.retain(|(u, _)| u != user);
            users.push((user.to_string(), value.clone()));
        }
        users
    }
}

#[cfg(test)]
mod tests;
