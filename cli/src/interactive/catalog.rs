//! Owns the catalog of the shell's commands: names, usage lines in zkCli's
//! notation, one line each for `help`, and the aliases.

/// One command of the catalog: its name, usage line, and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spec {
    /// The command's name.
    pub name: &'static str,
    /// Its usage line, in zkCli's notation.
    pub usage: &'static str,
    /// One line saying what it does.
    pub about: &'static str,
}

/// Every command, in the order `help` lists them (zkCli's, alphabetical,
/// then Corral's own).
#[rustfmt::skip]
pub const CATALOG: &[Spec] = &[
    Spec { name: "addWatch", usage: "addWatch [-m mode] path", about: "a persistent watch (mode PERSISTENT or PERSISTENT_RECURSIVE, the default); events print between commands" },
    Spec { name: "addauth", usage: "addauth scheme auth", about: "prove an identity (digest user:password)" },
    Spec { name: "close", usage: "close", about: "close the session (connect opens a new one)" },
    Spec { name: "config", usage: "config [-s] [-w]", about: "print the ensemble's configuration node" },
    Spec { name: "connect", usage: "connect host:port", about: "close the session and open one to these servers (host:port[,host:port])" },
    Spec { name: "create", usage: "create [-s] [-e] [-c] [-t ttl] path [data] [acl]", about: "create a node" },
    Spec { name: "delete", usage: "delete [-v version] path", about: "delete a node without children" },
    Spec { name: "deleteall", usage: "deleteall path", about: "delete a node and its subtree" },
    Spec { name: "delquota", usage: "delquota [-n|-b|-N|-B] path", about: "delete a quota, or one of its limits" },
    Spec { name: "get", usage: "get [-s] [-w] path", about: "print a node's data" },
    Spec { name: "getAcl", usage: "getAcl [-s] path", about: "print a node's ACL" },
    Spec { name: "getAllChildrenNumber", usage: "getAllChildrenNumber path", about: "count a node's descendants" },
    Spec { name: "getEphemerals", usage: "getEphemerals path", about: "this session's ephemerals under a prefix" },
    Spec { name: "help", usage: "help", about: "list the commands" },
    Spec { name: "history", usage: "history", about: "the last 11 commands, numbered" },
    Spec { name: "listquota", usage: "listquota path", about: "print a quota's limits and usage" },
    Spec { name: "ls", usage: "ls [-s] [-w] [-R] path", about: "list children (-R: the subtree)" },
    Spec { name: "printwatches", usage: "printwatches on|off", about: "print fired watches or not" },
    Spec { name: "quit", usage: "quit", about: "close the session and leave (also exit)" },
    Spec { name: "redo", usage: "redo cmdno", about: "run a command of the history again" },
    Spec { name: "removewatches", usage: "removewatches path [-c|-d|-a]", about: "remove this session's watches on a node" },
    Spec { name: "set", usage: "set [-s] [-v version] path data", about: "replace a node's data" },
    Spec { name: "setAcl", usage: "setAcl [-s] [-v version] [-R] path acl", about: "replace a node's ACL" },
    Spec { name: "setquota", usage: "setquota -n|-b|-N|-B val path", about: "set a quota limit: -n/-N nodes, -b/-B bytes (soft/hard)" },
    Spec { name: "stat", usage: "stat [-w] path", about: "print a node's Stat" },
    Spec { name: "sync", usage: "sync path", about: "catch up with the leader" },
    Spec { name: "version", usage: "version", about: "this shell's version" },
    Spec { name: "whoami", usage: "whoami", about: "the identities of this session" },
    Spec { name: "dump", usage: "dump path [file]", about: "export a subtree as JSON to file, else stdout (Corral)" },
    Spec { name: "du", usage: "du path", about: "nodes and data bytes of a subtree (Corral)" },
    Spec { name: "load", usage: "load [-f] file [path]", about: "import a dump under path (-f: overwrite data) (Corral)" },
    Spec { name: "tree", usage: "tree [path]", about: "print a subtree, indented (Corral)" },
    Spec { name: "watch", usage: "watch path", about: "print every change under path until Ctrl-C (Corral)" },
];

/// Names accepted besides the catalog's.
pub const ALIASES: &[(&str, &str)] = &[("exit", "quit"), ("rmr", "deleteall")];

/// Every name the shell accepts, for completion.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    CATALOG
        .iter()
        .map(|spec| spec.name)
        .chain(ALIASES.iter().map(|(alias, _)| *alias))
}

/// The usage line of the command `name` (empty for an unknown name).
pub fn usage(name: &str) -> &'static str {
    CATALOG
        .iter()
        .find(|spec| spec.name == name)
        .map_or("", |spec| spec.usage)
}
