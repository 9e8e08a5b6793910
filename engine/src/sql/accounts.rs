//! Accounts and privileges: CREATE/ALTER/DROP USER, GRANT, REVOKE, SHOW GRANTS, and the
//! privilege check run before each statement. Accounts live in the catalog (system
//! tree), so they are durable and replicated like any DDL.
//!
//! Password storage: SHA1(SHA1(pw)) for mysql_native_password and SHA256(SHA256(pw))
//! for caching_sha2_password's fast path; both are kept so either plugin can
//! authenticate an account.

use sha1::{Digest, Sha1};
use sha2::Sha256;

use crate::catalog::{keys, lc, to_record, Grant, UserDef};
use crate::database::Shared;
use crate::error::{code, Error, Result};
use crate::result::{Column, ColumnType, QueryResult};
use crate::sql::show::{is_word, tokenize, Tok};
use crate::value::Value;

pub const ALL_PRIVS: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "ALTER",
    "INDEX",
    "CREATE VIEW",
    "SHOW VIEW",
    "GRANT OPTION",
    "CREATE USER",
    "PROCESS",
    "SUPER",
    "RELOAD",
    "SHUTDOWN",
];

pub fn hashes(pw: &str) -> (Vec<u8>, Vec<u8>) {
    let n1 = Sha1::digest(pw.as_bytes());
    let native = Sha1::digest(n1).to_vec();
    let s1 = Sha256::digest(pw.as_bytes());
    let sha2 = Sha256::digest(s1).to_vec();
    (native, sha2)
}

pub fn create_user_record(
    sh: &Shared,
    user: &str,
    host: &str,
    password: Option<&str>,
    plugin: &str,
    all: bool,
) -> Result<()> {
    let secret = password.map(|p| Secret::Password(p.to_string()));
    create_user_with(sh, user, host, secret.as_ref(), plugin, all)
}

/// The (native, sha2) hashes to store for `secret`; both None: no password.
fn stored_hashes(secret: Option<&Secret>) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    match secret {
        Some(Secret::Password(p)) if !p.is_empty() => {
            let (a, b) = hashes(p);
            (Some(a), Some(b))
        }
        Some(Secret::NativeHash(h)) if !h.is_empty() => (Some(h.clone()), None),
        _ => (None, None),
    }
}

fn create_user_with(
    sh: &Shared,
    user: &str,
    host: &str,
    secret: Option<&Secret>,
    plugin: &str,
    all: bool,
) -> Result<()> {
    sh.ddl(|cat, w| {
        let (native, sha2) = stored_hashes(secret);
        let grants = if all {
            vec![Grant {
                db: "*".into(),
                table: "*".into(),
                privileges: vec!["ALL PRIVILEGES".into()],
                with_grant: true,
            }]
        } else {
            Vec::new()
        };
        let u = UserDef {
            user: user.into(),
            host: host.into(),
            plugin: plugin.into(),
            native_hash: native,
            sha2_hash: sha2,
            grants,
        };
        w.put(sh.system_tree(), &keys::user(user, host), &to_record(&u))?;
        cat.users.insert((user.to_string(), lc(host)), u);
        Ok(())
    })
}

struct P {
    toks: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }
    fn word(&mut self, w: &str) -> bool {
        if is_word(self.peek(), w) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn sym(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Sym(c)) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn name(&mut self) -> Result<String> {
        match self.toks.get(self.i).cloned() {
            Some(Tok::Word(w)) | Some(Tok::Str(w)) => {
                self.i += 1;
                Ok(w)
            }
            _ => Err(Error::parse(self.rest())),
        }
    }
    fn rest(&self) -> String {
        self.toks[self.i.min(self.toks.len())..]
            .iter()
            .map(|t| match t {
                Tok::Word(w) => w.clone(),
                Tok::Str(s) => format!("'{s}'"),
                Tok::Sym(c) => c.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
    /// 'user'[@'host']
    fn account(&mut self) -> Result<(String, String)> {
        let u = self.name()?;
        let (u, mut h) = match u.split_once('@') {
            Some((a, b)) if !b.is_empty() => (a.to_string(), b.to_string()),
            _ => (u, "%".to_string()),
        };
        if self.sym('@') || matches!(self.peek(), Some(Tok::Word(w)) if w.starts_with('@')) {
            if let Some(Tok::Word(w)) = self.peek().cloned() {
                if let Some(rest) = w.strip_prefix('@') {
                    self.i += 1;
                    if rest.is_empty() {
                        h = self.name()?;
                    } else {
                        h = rest.to_string();
                    }
                    return Ok((u, h));
                }
            }
            h = self.name()?;
        }
        Ok((u, h))
    }
}

/// Handle an account statement (text already known to start with one of the
/// keywords). Returns None when the text is not an account statement.
pub fn execute(
    sh: &Shared,
    sql: &str,
    cur_user: &str,
    cur_host: &str,
) -> Option<Result<QueryResult>> {
    let toks = tokenize(sql);
    let mut p = P { toks, i: 0 };
    if p.word("create") && p.word("user") {
        return Some(create_user(sh, &mut p));
    }
    p.i = 0;
    if p.word("alter") && p.word("user") {
        return Some(alter_user(sh, &mut p, cur_user));
    }
    p.i = 0;
    if p.word("drop") && p.word("user") {
        return Some(drop_user(sh, &mut p));
    }
    p.i = 0;
    if p.word("set") && p.word("password") {
        let r = (|| {
            let (user, host) = if p.word("for") {
                p.account()?
            } else {
                (cur_user.to_string(), cur_host.to_string())
            };
            if !p.sym('=') {
                return Err(Error::parse(p.rest()));
            }
            let pw = p.name()?;
            set_password(sh, &user, &host, &Secret::Password(pw))
        })();
        return Some(r);
    }
    p.i = 0;
    if p.word("grant") {
        return Some(grant(sh, &mut p, true));
    }
    p.i = 0;
    if p.word("revoke") {
        return Some(grant(sh, &mut p, false));
    }
    None
}

fn create_user(sh: &Shared, p: &mut P) -> Result<QueryResult> {
    let if_not_exists = p.word("if") && p.word("not") && p.word("exists");
    loop {
        let (user, host) = p.account()?;
        let (secret, plugin) = auth_clause(p)?;
        let exists = sh.catalog().users.contains_key(&(user.clone(), lc(&host)));
        if exists {
            if !if_not_exists {
                return Err(Error::new(
                    code::ER_CANNOT_USER,
                    format!("Operation CREATE USER failed for '{user}'@'{host}'"),
                ));
            }
        } else {
            create_user_with(
                sh,
                &user,
                &host,
                secret.as_ref(),
                &plugin.unwrap_or_else(|| crate::database::DEFAULT_AUTH_PLUGIN.into()),
                false,
            )?;
        }
        if !p.sym(',') {
            break;
        }
    }
    Ok(QueryResult::ok(0))
}

/// The secret an IDENTIFIED clause gives.
enum Secret {
    Password(String),
    /// `AS '*HEX'` / `BY PASSWORD '*HEX'`: a mysql_native_password hash as MySQL stores
    /// it (SHA1(SHA1(pw))), e.g. from a dump; empty for no password.
    NativeHash(Vec<u8>),
}

/// [IDENTIFIED [WITH plugin] [BY 'pw' | BY PASSWORD 'hash' | AS 'hash']]
fn auth_clause(p: &mut P) -> Result<(Option<Secret>, Option<String>)> {
    let mut secret = None;
    let mut plugin = None;
    if p.word("identified") {
        if p.word("with") {
            let name = p.name()?.to_lowercase();
            if name != NATIVE && name != CACHING_SHA2 {
                return Err(Error::new(
                    code::ER_PLUGIN_IS_NOT_LOADED,
                    format!("Plugin '{name}' is not loaded"),
                ));
            }
            plugin = Some(name);
        }
        if p.word("by") {
            secret = Some(if p.word("password") {
                hash_secret(&p.name()?, plugin.as_deref())?
            } else {
                Secret::Password(p.name()?)
            });
        } else if p.word("as") {
            secret = Some(hash_secret(&p.name()?, plugin.as_deref())?);
        }
    }
    Ok((secret, plugin))
}

const NATIVE: &str = "mysql_native_password";
const CACHING_SHA2: &str = "caching_sha2_password";

/// A stored hash given in the statement. Only mysql_native_password's format can be
/// taken: caching_sha2_password's stored form (a salted SHA-256 crypt) cannot answer the
/// fast path Borealis serves, so it is refused rather than stored unusable.
fn hash_secret(hash: &str, plugin: Option<&str>) -> Result<Secret> {
    if plugin == Some(CACHING_SHA2) {
        return Err(Error::new(
            code::ER_NOT_SUPPORTED_YET,
            "This version of Borealis doesn't yet support 'caching_sha2_password hashes given with AS; use IDENTIFIED BY'",
        ));
    }
    if hash.is_empty() {
        return Ok(Secret::NativeHash(Vec::new()));
    }
    let bytes = hash
        .strip_prefix('*')
        .filter(|h| h.len() == 40)
        .and_then(|h| {
            (0..20)
                .map(|i| u8::from_str_radix(h.get(2 * i..2 * i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()
        })
        .ok_or_else(|| {
            Error::new(
                code::ER_PASSWORD_FORMAT,
                "The password hash doesn't have the expected format.",
            )
        })?;
    Ok(Secret::NativeHash(bytes))
}

/// SHOW CREATE USER account: the statement that recreates it, in MySQL 8's form (with
/// the native hash, so a dump restores the password; caching_sha2_password accounts
/// show no hash, as Borealis cannot give MySQL's salted form).
pub fn show_create_user(sh: &Shared, text: &str) -> Result<QueryResult> {
    let mut p = P {
        toks: tokenize(text),
        i: 0,
    };
    if !(p.word("show") && p.word("create") && p.word("user")) {
        return Err(Error::parse(text));
    }
    let (user, host) = p.account()?;
    let cat = sh.catalog();
    let u = cat.users.get(&(user.clone(), lc(&host))).ok_or_else(|| {
        Error::new(
            code::ER_CANNOT_USER,
            format!("Operation SHOW CREATE USER failed for '{user}'@'{host}'"),
        )
    })?;
    let auth = match (&u.native_hash, u.plugin.as_str()) {
        (Some(h), NATIVE) => format!(" AS '{}'", native_hash_text(h)),
        _ => String::new(),
    };
    let stmt = format!(
        "CREATE USER `{}`@`{}` IDENTIFIED WITH '{}'{auth} REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK PASSWORD HISTORY DEFAULT PASSWORD REUSE INTERVAL DEFAULT PASSWORD REQUIRE CURRENT DEFAULT",
        u.user, u.host, u.plugin
    );
    Ok(QueryResult::Rows {
        columns: vec![Column::computed(
            format!("CREATE USER for {}@{}", u.user, u.host),
            ColumnType::VarString,
        )],
        rows: vec![vec![Value::Str(stmt)]],
    })
}

/// mysql_native_password's stored form of `hash` (SHA1(SHA1(pw))): `*` and 40 upper-case
/// hex digits, as MySQL shows it in authentication_string and SHOW CREATE USER.
pub fn native_hash_text(hash: &[u8]) -> String {
    let mut s = String::with_capacity(41);
    s.push('*');
    for b in hash {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

fn set_password(sh: &Shared, user: &str, host: &str, secret: &Secret) -> Result<QueryResult> {
    sh.ddl(|cat, w| {
        let key = (user.to_string(), lc(host));
        let mut u = cat.users.get(&key).cloned().ok_or_else(|| {
            Error::new(
                code::ER_CANNOT_USER,
                format!("Operation ALTER USER failed for '{user}'@'{host}'"),
            )
        })?;
        (u.native_hash, u.sha2_hash) = stored_hashes(Some(secret));
        w.put(sh.system_tree(), &keys::user(user, host), &to_record(&u))?;
        cat.users.insert(key, u);
        Ok(QueryResult::ok(0))
    })
}

fn alter_user(sh: &Shared, p: &mut P, cur_user: &str) -> Result<QueryResult> {
    let if_exists = p.word("if") && p.word("exists");
    let (user, host) = if p.word("user") {
        p.sym('(');
        p.sym(')');
        (cur_user.to_string(), "%".to_string())
    } else {
        p.account()?
    };
    let (secret, plugin) = auth_clause(p)?;
    if !sh.catalog().users.contains_key(&(user.clone(), lc(&host))) {
        if if_exists {
            return Ok(QueryResult::ok(0));
        }
        return Err(Error::new(
            code::ER_CANNOT_USER,
            format!("Operation ALTER USER failed for '{user}'@'{host}'"),
        ));
    }
    if let Some(secret) = secret {
        set_password(sh, &user, &host, &secret)?;
    }
    if let Some(plugin) = plugin {
        sh.ddl(|cat, w| {
            let key = (user.clone(), lc(&host));
            if let Some(mut u) = cat.users.get(&key).cloned() {
                u.plugin = plugin.clone();
                w.put(sh.system_tree(), &keys::user(&user, &host), &to_record(&u))?;
                cat.users.insert(key, u);
            }
            Ok(())
        })?;
    }
    Ok(QueryResult::ok(0))
}

fn drop_user(sh: &Shared, p: &mut P) -> Result<QueryResult> {
    let if_exists = p.word("if") && p.word("exists");
    let mut accounts = Vec::new();
    loop {
        accounts.push(p.account()?);
        if !p.sym(',') {
            break;
        }
    }
    sh.ddl(|cat, w| {
        for (user, host) in &accounts {
            let key = (user.clone(), lc(host));
            if cat.users.remove(&key).is_none() {
                if if_exists {
                    continue;
                }
                return Err(Error::new(
                    code::ER_CANNOT_USER,
                    format!("Operation DROP USER failed for '{user}'@'{host}'"),
                ));
            }
            w.delete(sh.system_tree(), &keys::user(user, host))?;
        }
        Ok(QueryResult::ok(0))
    })
}

/// GRANT privs ON db.tbl TO account [WITH GRANT OPTION] / REVOKE privs ON x FROM account.
fn grant(sh: &Shared, p: &mut P, give: bool) -> Result<QueryResult> {
    let mut privs: Vec<String> = Vec::new();
    let mut cur = String::new();
    loop {
        match p.peek().cloned() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("on") => break,
            Some(Tok::Word(w)) => {
                p.i += 1;
                if !cur.is_empty() {
                    cur.push(' ');
                }
                cur.push_str(&w.to_uppercase());
            }
            Some(Tok::Sym(',')) => {
                p.i += 1;
                privs.push(std::mem::take(&mut cur));
            }
            Some(Tok::Sym('(')) => {
                // Column lists are accepted and widened to the table.
                while !p.sym(')') && p.peek().is_some() {
                    p.i += 1;
                }
            }
            _ => return Err(Error::parse(p.rest())),
        }
    }
    if !cur.is_empty() {
        privs.push(cur);
    }
    let privs: Vec<String> = privs
        .into_iter()
        .map(|x| {
            if x == "ALL" || x == "ALL PRIVILEGES" {
                "ALL PRIVILEGES".to_string()
            } else {
                x
            }
        })
        .collect();
    for x in &privs {
        if x != "ALL PRIVILEGES" && !ALL_PRIVS.contains(&x.as_str()) && x != "USAGE" {
            return Err(Error::parse(x));
        }
    }
    if !p.word("on") {
        return Err(Error::parse(p.rest()));
    }
    p.word("table");
    // db.tbl, *.*, db.*, tbl
    let a = if p.sym('*') {
        "*".to_string()
    } else {
        p.name()?
    };
    let (db, table) = if p.sym('.') {
        let b = if p.sym('*') {
            "*".to_string()
        } else {
            p.name()?
        };
        (a, b)
    } else {
        (String::new(), a)
    };
    if !(p.word(if give { "to" } else { "from" })) {
        return Err(Error::parse(p.rest()));
    }
    let mut accounts = Vec::new();
    loop {
        accounts.push(p.account()?);
        if !p.sym(',') {
            break;
        }
    }
    let with_grant = give && p.word("with") && p.word("grant") && p.word("option");
    sh.ddl(|cat, w| {
        for (user, host) in &accounts {
            let key = (user.clone(), lc(host));
            let mut u = cat.users.get(&key).cloned().ok_or_else(|| {
                Error::new(
                    code::ER_NONEXISTING_GRANT,
                    format!("There is no such grant defined for user '{user}' on host '{host}'"),
                )
            })?;
            let db = if db.is_empty() {
                "*".to_string()
            } else {
                db.clone()
            };
            let pos = u.grants.iter().position(|g| {
                g.db.eq_ignore_ascii_case(&db) && g.table.eq_ignore_ascii_case(&table)
            });
            if give {
                match pos {
                    Some(i) => {
                        for x in &privs {
                            if !u.grants[i].privileges.contains(x) {
                                u.grants[i].privileges.push(x.clone());
                            }
                        }
                        u.grants[i].with_grant |= with_grant;
                    }
                    None => u.grants.push(Grant {
                        db: db.clone(),
                        table: table.clone(),
                        privileges: privs.clone(),
                        with_grant,
                    }),
                }
            } else if let Some(i) = pos {
                if privs.iter().any(|x| x == "ALL PRIVILEGES") {
                    u.grants.remove(i);
                } else {
                    let g = &mut u.grants[i];
                    if g.privileges.iter().any(|x| x == "ALL PRIVILEGES") {
                        g.privileges = ALL_PRIVS
                            .iter()
                            .map(|s| s.to_string())
                            .filter(|x| x != "GRANT OPTION")
                            .collect();
                    }
                    g.privileges.retain(|x| !privs.contains(x));
                    if g.privileges.is_empty() {
                        u.grants.remove(i);
                    }
                }
            } else {
                return Err(Error::new(
                    code::ER_NONEXISTING_GRANT,
                    format!("There is no such grant defined for user '{user}' on host '{host}'"),
                ));
            }
            w.put(sh.system_tree(), &keys::user(user, host), &to_record(&u))?;
            cat.users.insert(key, u);
        }
        Ok(QueryResult::ok(0))
    })
}

/// SHOW GRANTS [FOR account].
pub fn show_grants(sh: &Shared, user: &str, host: &str) -> Result<QueryResult> {
    let cat = sh.catalog();
    let u = cat
        .users
        .get(&(user.to_string(), lc(host)))
        .or_else(|| cat.find_user(user, host))
        .ok_or_else(|| {
            Error::new(
                code::ER_NONEXISTING_GRANT,
                format!("There is no such grant defined for user '{user}' on host '{host}'"),
            )
        })?;
    let mut rows = Vec::new();
    let has_global = u.grants.iter().any(|g| g.db == "*" && g.table == "*");
    if !has_global {
        rows.push(vec![Value::Str(format!(
            "GRANT USAGE ON *.* TO `{}`@`{}`",
            u.user, u.host
        ))]);
    }
    for g in &u.grants {
        let on = if g.db == "*" {
            "*.*".to_string()
        } else if g.table == "*" {
            format!("`{}`.*", g.db)
        } else {
            format!("`{}`.`{}`", g.db, g.table)
        };
        rows.push(vec![Value::Str(format!(
            "GRANT {} ON {on} TO `{}`@`{}`{}",
            g.privileges.join(", "),
            u.user,
            u.host,
            if g.with_grant {
                " WITH GRANT OPTION"
            } else {
                ""
            }
        ))]);
    }
    Ok(QueryResult::Rows {
        columns: vec![Column::computed(
            format!("Grants for {}@{}", u.user, u.host),
            ColumnType::VarString,
        )],
        rows,
    })
}

/// Whether the account may use `privilege` on db.table ("" table = database level).
pub fn allowed(
    sh: &Shared,
    user: &str,
    host: &str,
    privilege: &str,
    db: &str,
    table: &str,
) -> bool {
    let cat = sh.catalog();
    if cat.users.is_empty() {
        return true; // embedded use without accounts: everything is allowed
    }
    let Some(u) = cat
        .users
        .get(&(user.to_string(), lc(host)))
        .or_else(|| cat.find_user(user, host))
    else {
        return false;
    };
    u.grants.iter().any(|g| {
        let db_ok = g.db == "*" || g.db.eq_ignore_ascii_case(db);
        let t_ok = g.table == "*" || (!table.is_empty() && g.table.eq_ignore_ascii_case(table));
        db_ok
            && t_ok
            && g.privileges
                .iter()
                .any(|p| p == "ALL PRIVILEGES" || p.eq_ignore_ascii_case(privilege))
    })
}
