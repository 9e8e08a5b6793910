//! One client connection: handshake, TLS upgrade, authentication, then the command loop.
//!
//! Invariants: the connection owns its session and its prepared statements; every reply
//! is flushed before the next command is read; a protocol violation (malformed, truncated,
//! oversized or out-of-order packet) ends this connection only, after an ERR packet when
//! the socket still works. Nothing read from the network is unwrapped.

use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use borealis_engine::error::code;
use borealis_engine::{Error, QueryResult, SessionInfo, UserAccount};
use mysql_common::constants::{CapabilityFlags, Command, StatusFlags};
use tracing::{debug, info};

use super::auth;
use super::binary::{self, ExecuteError, ParamType};
use super::local_infile::WireInfile;
use super::messages::{self as msg, ClientHello};
use super::packet::{PacketError, PacketIo};
use crate::backend::BackendSession;
use crate::server::Shared;
use crate::stream::Stream;

/// How long a client may take to finish the handshake (mysqld's connect_timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

const ER_HANDSHAKE_ERROR: u16 = 1043;
const ER_NET_PACKETS_OUT_OF_ORDER: u16 = 1156;
const ER_SECURE_TRANSPORT_REQUIRED: u16 = 3159;
const ER_CLIENT_INTERACTION_TIMEOUT: u16 = 4031;
const ER_STMT_HAS_NO_OPEN_CURSOR: u16 = 1421;
const ER_KILL_DENIED: u16 = 1095;
/// caching_sha2_password's AuthMoreData statuses.
const FAST_AUTH_SUCCESS: u8 = 0x03;
const PERFORM_FULL_AUTHENTICATION: u8 = 0x04;

/// Why the connection ends.
enum Close {
    /// Normal end (COM_QUIT, client gone, killed).
    Quit,
    /// Send this error, then close.
    Error(u16, &'static str, String),
}

impl From<io::Error> for Close {
    fn from(e: io::Error) -> Self {
        debug!("connection I/O error: {e}");
        Close::Quit
    }
}

impl From<PacketError> for Close {
    fn from(e: PacketError) -> Self {
        match e {
            PacketError::Closed => Close::Quit,
            PacketError::Io(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Close::Error(
                    ER_CLIENT_INTERACTION_TIMEOUT,
                    "HY000",
                    "The client was disconnected by the server because of inactivity. See wait_timeout and interactive_timeout for configuring this behavior.".into(),
                )
            }
            PacketError::Io(e) => Close::from(e),
            PacketError::TooLarge { .. } => Close::Error(
                code::ER_NET_PACKET_TOO_LARGE,
                "08S01",
                "Got a packet bigger than 'max_allowed_packet' bytes".into(),
            ),
            PacketError::OutOfOrder { .. } => Close::Error(
                ER_NET_PACKETS_OUT_OF_ORDER,
                "08S01",
                "Got packets out of order".into(),
            ),
        }
    }
}

fn bad_handshake() -> Close {
    Close::Error(ER_HANDSHAKE_ERROR, "08S01", "Bad handshake".into())
}

/// A prepared statement as this connection knows it.
struct Stmt {
    handle: u64,
    param_count: usize,
    columns: Vec<borealis_engine::Column>,
    /// Types bound by the last execute that sent them (new_params_bound=1).
    types: Option<Vec<ParamType>>,
    long_data: Vec<Option<Vec<u8>>>,
}

pub(crate) struct Conn {
    shared: Arc<Shared>,
    io: PacketIo<Stream>,
    id: u32,
    caps: CapabilityFlags,
    scramble: [u8; 20],
    host: String,
    user: String,
    session: Option<Box<dyn BackendSession>>,
    stmts: HashMap<u32, Stmt>,
    next_stmt: u32,
    /// The socket's read timeout as last set (a setsockopt per command is measurable).
    read_timeout: Option<Duration>,
}

impl Conn {
    pub(crate) fn new(shared: Arc<Shared>, stream: Stream, id: u32, host: String) -> Conn {
        let max = shared.config.max_allowed_packet;
        Conn {
            shared,
            io: PacketIo::new(stream, max),
            id,
            caps: CapabilityFlags::empty(),
            scramble: auth::new_scramble(),
            host,
            user: String::new(),
            session: None,
            stmts: HashMap::new(),
            next_stmt: 1,
            read_timeout: None,
        }
    }

    /// Serve the connection until it ends.
    pub(crate) fn run(mut self) {
        let result = self.handshake().and_then(|()| self.command_loop());
        if let Err(Close::Error(code, state, message)) = result {
            debug!(conn = self.id, code, "closing connection: {message}");
            let _ = self
                .io
                .write_packet(&msg::err_packet(code, state, &message));
            let _ = self.io.flush();
        }
        let _ = self.io.get_ref().tcp().shutdown(std::net::Shutdown::Both);
    }

    fn tcp_timeout(&mut self, t: Duration) {
        if self.read_timeout != Some(t) && self.io.get_ref().tcp().set_read_timeout(Some(t)).is_ok()
        {
            self.read_timeout = Some(t);
        }
    }

    fn deprecate_eof(&self) -> bool {
        self.caps.contains(CapabilityFlags::CLIENT_DEPRECATE_EOF)
    }

    // ----- connection phase -------------------------------------------------------------

    fn handshake(&mut self) -> Result<(), Close> {
        self.tcp_timeout(CONNECT_TIMEOUT);
        let tls_available = self.shared.config.tls.is_some();
        let server_caps = msg::server_capabilities(tls_available);
        let greeting = msg::greeting(
            &self.shared.config.version,
            self.id,
            &self.scramble,
            server_caps,
            auth::NATIVE,
        );
        self.io.write_packet(&greeting)?;
        self.io.flush()?;

        let mut first = self.io.read_packet()?;
        if msg::is_ssl_request(&first) {
            let Some(tls) = self.shared.config.tls.clone() else {
                return Err(bad_handshake());
            };
            self.start_tls(tls)?;
            first = self.io.read_packet()?;
        }
        let hello = msg::parse_handshake_response(&first).map_err(|e| {
            debug!(conn = self.id, "{e}");
            bad_handshake()
        })?;
        let secure = self.io.get_ref().is_tls();
        if self.shared.config.require_secure_transport && !secure {
            return Err(Close::Error(
                ER_SECURE_TRANSPORT_REQUIRED,
                "HY000",
                "Connections using insecure transport are prohibited while --require_secure_transport=ON.".into(),
            ));
        }
        self.caps = hello.capabilities & server_caps;
        self.authenticate(&hello)?;
        self.user = hello.user.clone();
        self.shared.set_user(self.id, &self.user);
        self.open_session(hello.database.as_deref())?;
        let status = self.status_flags(false);
        self.io
            .write_packet(&msg::ok_packet(0, 0, 0, status, 0, ""))?;
        self.io.flush()?;
        info!(
            conn = self.id,
            user = %self.user,
            host = %self.host,
            tls = secure,
            "client connected"
        );
        Ok(())
    }

    fn start_tls(&mut self, cfg: Arc<rustls::ServerConfig>) -> Result<(), Close> {
        let placeholder = PacketIo::new(
            Stream::Plain(self.io.get_ref().tcp().try_clone()?),
            self.shared.config.max_allowed_packet,
        );
        let old = std::mem::replace(&mut self.io, placeholder);
        let (stream, seq, early) = old.into_inner()?;
        let Stream::Plain(tcp) = stream else {
            return Err(bad_handshake());
        };
        let mut conn = rustls::ServerConnection::new(cfg).map_err(|e| {
            debug!("TLS setup failed: {e}");
            bad_handshake()
        })?;
        if !early.is_empty() {
            // TLS bytes that came with the SSL request: hand them to rustls first.
            let mut rest = &early[..];
            while !rest.is_empty() {
                conn.read_tls(&mut rest)?;
                conn.process_new_packets().map_err(|e| {
                    debug!("TLS handshake failed: {e}");
                    bad_handshake()
                })?;
            }
        }
        let tls = rustls::StreamOwned::new(conn, tcp);
        self.io = PacketIo::with_stream(
            Stream::Tls(Box::new(tls)),
            seq,
            self.shared.config.max_allowed_packet,
        );
        Ok(())
    }

    fn access_denied(&self, user: &str, with_password: bool) -> Close {
        Close::Error(
            code::ER_ACCESS_DENIED,
            "28000",
            format!(
                "Access denied for user '{}'@'{}' (using password: {})",
                user,
                self.host,
                if with_password { "YES" } else { "NO" }
            ),
        )
    }

    /// Check the client's credentials, switching its auth plugin if needed. On success
    /// the next packet to send is the final OK.
    fn authenticate(&mut self, hello: &ClientHello) -> Result<(), Close> {
        let account = self.shared.backend.lookup_user(&hello.user, &self.host);
        let client_plugin = hello.plugin.clone().unwrap_or_else(|| auth::NATIVE.into());
        let target = match &account {
            Some(a) if a.plugin == auth::CACHING_SHA2 => auth::CACHING_SHA2,
            Some(_) => auth::NATIVE,
            // Unknown user: run the same exchange as for a real one, then refuse.
            None if client_plugin == auth::CACHING_SHA2 => auth::CACHING_SHA2,
            None => auth::NATIVE,
        };
        let mut response = hello.auth_response.clone();
        if client_plugin != target {
            if !self.caps.contains(CapabilityFlags::CLIENT_PLUGIN_AUTH) {
                return Err(self.access_denied(&hello.user, !response.is_empty()));
            }
            self.io
                .write_packet(&msg::auth_switch(target, &self.scramble))?;
            self.io.flush()?;
            response = self.io.read_packet()?;
        }
        let with_password = !response.is_empty();
        let Some(account) = account else {
            return Err(self.access_denied(&hello.user, with_password));
        };
        let ok = if target == auth::CACHING_SHA2 {
            self.check_sha2(&account, &response)?
        } else {
            match (&account.native_hash, response.is_empty()) {
                (None, true) => account.sha2_hash.is_none(),
                (Some(h), false) => auth::verify_native(&self.scramble, &response, h),
                _ => false,
            }
        };
        if ok {
            Ok(())
        } else {
            Err(self.access_denied(&hello.user, with_password))
        }
    }

    /// caching_sha2_password, as MySQL runs it. A fast-path scramble from an account in the
    /// server's cache logs in at once (0x03). Otherwise, over TLS, the server asks for full
    /// authentication (0x04): the client sends its password in clear and a match puts the
    /// account in the cache. Over plaintext MySQL would exchange the password under RSA,
    /// which Borealis does not offer; since the double hash is persisted (MySQL keeps it
    /// only in memory), a fast-path scramble that checks against it is accepted there, and
    /// a wrong one is refused without a round trip the client could not complete.
    fn check_sha2(&mut self, account: &UserAccount, response: &[u8]) -> Result<bool, Close> {
        let Some(stored) = account.sha2_hash else {
            // No SHA-256 hash: a password-less account, or one whose password is known
            // only as a native hash (given with AS); that one cannot log in this way.
            return Ok(response.is_empty() && account.native_hash.is_none());
        };
        if response.is_empty() {
            return Ok(false);
        }
        let secure = self.io.get_ref().is_tls();
        let cache = self.shared.sha2_cache();
        let cleartext = if response.len() == 32 {
            let fast = auth::verify_sha2_fast(&self.scramble, response, &stored);
            if fast && (!secure || cache.contains(&account.user, &account.host, &stored)) {
                cache.count_fast();
                self.io
                    .write_packet(&msg::auth_more_data(&[FAST_AUTH_SUCCESS]))?;
                return Ok(true);
            }
            if !secure {
                return Ok(false);
            }
            self.io
                .write_packet(&msg::auth_more_data(&[PERFORM_FULL_AUTHENTICATION]))?;
            self.io.flush()?;
            self.io.read_packet()?
        } else if secure {
            // A client may send its password in clear from the start over TLS.
            response.to_vec()
        } else {
            return Ok(false);
        };
        let ok = auth::verify_sha2_cleartext(&cleartext, &stored);
        if ok {
            cache.count_full();
            cache.remember(&account.user, &account.host, stored);
        }
        Ok(ok)
    }

    fn open_session(&mut self, database: Option<&str>) -> Result<(), Close> {
        let info = SessionInfo {
            connection_id: self.id,
            user: self.user.clone(),
            host: self.host.clone(),
            database: None,
        };
        let mut session = self.shared.backend.open_session(info);
        if let Some(db) = database {
            if let Err(e) = session.use_database(db) {
                return Err(Close::Error(e.code, e.sqlstate(), e.message));
            }
        }
        self.session = Some(session);
        self.stmts.clear();
        Ok(())
    }

    fn session(&mut self) -> &mut dyn BackendSession {
        self.session
            .as_deref_mut()
            .expect("a session is opened before the command phase")
    }

    // ----- command phase ----------------------------------------------------------------

    fn command_loop(&mut self) -> Result<(), Close> {
        let wait = self.shared.config.wait_timeout;
        loop {
            self.io.reset_seq();
            self.tcp_timeout(wait);
            let packet = self.io.read_packet()?;
            if self.shared.is_killed(self.id) {
                return Err(Close::Quit);
            }
            let keep_going = self.dispatch(&packet)?;
            self.io.flush()?;
            if !keep_going {
                return Ok(());
            }
        }
    }

    /// Handle one command. Ok(false): the client quit.
    fn dispatch(&mut self, p: &[u8]) -> Result<bool, Close> {
        let Some(&cmd) = p.first() else {
            self.send_error(&Error::new(code::ER_UNKNOWN_COM, "Unknown command"))?;
            return Ok(true);
        };
        let body = &p[1..];
        match cmd {
            c if c == Command::COM_QUIT as u8 => return Ok(false),
            c if c == Command::COM_PING as u8 => self.send_ok(0, 0, "")?,
            c if c == Command::COM_QUERY as u8 => {
                self.shared.count_question();
                let sql = crate::protocol::sqltext::decode(body);
                self.com_query(&sql)?;
            }
            c if c == Command::COM_INIT_DB as u8 => {
                let db = String::from_utf8_lossy(body).into_owned();
                match self.session().use_database(&db) {
                    Ok(()) => self.send_ok(0, 0, "")?,
                    Err(e) => self.send_error(&e)?,
                }
            }
            c if c == Command::COM_FIELD_LIST as u8 => self.com_field_list(body)?,
            c if c == Command::COM_STATISTICS as u8 => {
                let s = self.shared.statistics();
                self.io.write_packet(s.as_bytes())?;
            }
            c if c == Command::COM_PROCESS_KILL as u8 => {
                let Some(b) = body.get(..4) else {
                    return self.malformed_command();
                };
                let id = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                self.kill(id, false)?;
            }
            c if c == Command::COM_REFRESH as u8 => {
                let Some(&bits) = body.first() else {
                    return self.malformed_command();
                };
                self.com_refresh(bits)?;
            }
            c if c == Command::COM_CHANGE_USER as u8 => return self.com_change_user(p),
            c if c == Command::COM_RESET_CONNECTION as u8 => {
                self.close_all_statements();
                self.session().reset();
                self.send_ok(0, 0, "")?;
            }
            c if c == Command::COM_SET_OPTION as u8 => {
                let opt = body.get(..2).map(|b| u16::from_le_bytes([b[0], b[1]]));
                match opt {
                    Some(0) => self.caps |= CapabilityFlags::CLIENT_MULTI_STATEMENTS,
                    Some(1) => self.caps -= CapabilityFlags::CLIENT_MULTI_STATEMENTS,
                    _ => return self.malformed_command(),
                }
                self.send_eof()?;
            }
            c if c == Command::COM_STMT_PREPARE as u8 => {
                let sql = crate::protocol::sqltext::decode(body);
                self.com_stmt_prepare(&sql)?;
            }
            c if c == Command::COM_STMT_EXECUTE as u8 => {
                self.shared.count_question();
                self.com_stmt_execute(p)?;
            }
            c if c == Command::COM_STMT_SEND_LONG_DATA as u8 => self.com_send_long_data(p),
            c if c == Command::COM_STMT_CLOSE as u8 => {
                if let Some(id) = binary::stmt_id(p) {
                    self.close_statement(id);
                }
            }
            c if c == Command::COM_STMT_RESET as u8 => {
                let id = binary::stmt_id(p).unwrap_or(0);
                match self.stmts.get_mut(&id) {
                    Some(st) => {
                        st.long_data.iter_mut().for_each(|d| *d = None);
                        self.send_ok(0, 0, "")?;
                    }
                    None => self.send_error(&unknown_stmt(id, "mysqld_stmt_reset"))?,
                }
            }
            c if c == Command::COM_STMT_FETCH as u8 => {
                let id = binary::stmt_id(p).unwrap_or(0);
                self.send_error(&Error::new(
                    ER_STMT_HAS_NO_OPEN_CURSOR,
                    format!("The statement ({id}) has no open cursor."),
                ))?;
            }
            _ => self.send_error(&Error::new(code::ER_UNKNOWN_COM, "Unknown command"))?,
        }
        Ok(true)
    }

    /// COM_REFRESH (`mysqladmin refresh`, `flush-hosts`, ...): the FLUSH statements its
    /// bits name, run as the statements would be (privilege checks included); answered
    /// with the first error or OK. The other bits (thread cache, replication) name
    /// nothing Borealis keeps.
    fn com_refresh(&mut self, bits: u8) -> Result<(), Close> {
        const WHAT: [(u8, &str); 5] = [
            (0x01, "PRIVILEGES"),
            (0x02, "LOGS"),
            (0x04, "TABLES"),
            (0x08, "HOSTS"),
            (0x10, "STATUS"),
        ];
        let mut err = None;
        for (bit, what) in WHAT {
            if bits & bit != 0 {
                if let Err(e) = self.session().execute(&format!("FLUSH {what}")) {
                    err = Some(e);
                    break;
                }
            }
        }
        match err {
            Some(e) => self.send_error(&e)?,
            None => self.send_ok(0, 0, "")?,
        }
        Ok(())
    }

    fn malformed_command(&mut self) -> Result<bool, Close> {
        self.send_error(&Error::new(
            code::ER_UNKNOWN_COM,
            "Malformed communication packet",
        ))?;
        Ok(true)
    }

    // ----- replies ----------------------------------------------------------------------

    fn status_flags(&self, more: bool) -> StatusFlags {
        let mut f = StatusFlags::empty();
        if let Some(s) = &self.session {
            let st = s.status();
            if st.autocommit {
                f |= StatusFlags::SERVER_STATUS_AUTOCOMMIT;
            }
            if st.in_transaction {
                f |= StatusFlags::SERVER_STATUS_IN_TRANS;
            }
        } else {
            f |= StatusFlags::SERVER_STATUS_AUTOCOMMIT;
        }
        if more {
            f |= StatusFlags::SERVER_MORE_RESULTS_EXISTS;
        }
        f
    }

    fn warnings(&self) -> u16 {
        self.session.as_ref().map_or(0, |s| s.status().warnings)
    }

    fn send_ok_more(
        &mut self,
        affected: u64,
        last_id: u64,
        info: &str,
        more: bool,
    ) -> io::Result<()> {
        let p = msg::ok_packet(
            0,
            affected,
            last_id,
            self.status_flags(more),
            self.warnings(),
            info,
        );
        self.io.write_packet(&p)
    }

    fn send_ok(&mut self, affected: u64, last_id: u64, info: &str) -> io::Result<()> {
        self.send_ok_more(affected, last_id, info, false)
    }

    /// EOF, or its OK replacement under DEPRECATE_EOF (COM_SET_OPTION's reply).
    fn send_eof(&mut self) -> io::Result<()> {
        let (st, w) = (self.status_flags(false), self.warnings());
        if self.deprecate_eof() {
            self.io.write_packet(&msg::ok_packet(0xFE, 0, 0, st, w, ""))
        } else {
            self.io.write_packet(&msg::eof_packet(st, w))
        }
    }

    fn send_error(&mut self, e: &Error) -> io::Result<()> {
        self.io.write_packet(&msg::error_packet(e))
    }

    /// Send one statement's result. `more`: another result follows.
    fn send_result(&mut self, r: QueryResult, more: bool, binary_rows: bool) -> io::Result<()> {
        match r {
            QueryResult::Ok {
                affected_rows,
                last_insert_id,
                info,
            } => {
                let affected = if self.caps.contains(CapabilityFlags::CLIENT_FOUND_ROWS) {
                    rows_matched(&info).unwrap_or(affected_rows)
                } else {
                    affected_rows
                };
                self.send_ok_more(affected, last_insert_id, &info, more)
            }
            QueryResult::Rows { columns, rows } => {
                self.io.write_packet(&msg::column_count(columns.len()))?;
                for c in &columns {
                    self.io.write_packet(&msg::column_definition(c, false))?;
                }
                let (st, w) = (self.status_flags(more), self.warnings());
                if !self.deprecate_eof() {
                    self.io.write_packet(&msg::eof_packet(st, w))?;
                }
                for row in &rows {
                    if binary_rows {
                        self.io
                            .write_packet_with(|b| binary::put_binary_row(b, &columns, row))?;
                    } else {
                        self.io
                            .write_packet_with(|b| msg::put_text_row(b, &columns, row))?;
                    }
                }
                if self.deprecate_eof() {
                    self.io.write_packet(&msg::ok_packet(0xFE, 0, 0, st, w, ""))
                } else {
                    self.io.write_packet(&msg::eof_packet(st, w))
                }
            }
        }
    }

    // ----- commands ---------------------------------------------------------------------

    fn com_query(&mut self, sql: &str) -> Result<(), Close> {
        if let Some((id, query_only)) = parse_kill(sql) {
            return self.kill(id, query_only);
        }
        let local_files = self.caps.contains(CapabilityFlags::CLIENT_LOCAL_FILES);
        if self.caps.contains(CapabilityFlags::CLIENT_MULTI_STATEMENTS) {
            if may_load_local(sql) {
                // The client must see each statement's result before a later statement
                // asks it for a file: run them one by one, replying as they finish.
                let stmts = borealis_engine::split_statements(sql);
                let n = stmts.len();
                for (i, stmt) in stmts.iter().enumerate() {
                    match self.execute_local(stmt, local_files)? {
                        Ok(r) => self.send_result(r, i + 1 < n, false)?,
                        Err(e) => {
                            self.send_error(&e)?;
                            break;
                        }
                    }
                }
                if n == 0 {
                    self.send_error(&Error::new(code::ER_EMPTY_QUERY, "Query was empty"))?;
                }
                return Ok(());
            }
            let mut wire = WireInfile::new(&mut self.io, local_files);
            let session = self
                .session
                .as_deref_mut()
                .expect("a session is opened before the command phase");
            let results = session.execute_script_with_local(sql, &mut wire);
            wire.finish()?;
            let n = results.len();
            for (i, r) in results.into_iter().enumerate() {
                match r {
                    Ok(r) => self.send_result(r, i + 1 < n, false)?,
                    Err(e) => {
                        self.send_error(&e)?;
                        break;
                    }
                }
            }
            if n == 0 {
                self.send_error(&Error::new(code::ER_EMPTY_QUERY, "Query was empty"))?;
            }
        } else {
            match self.execute_local(sql, local_files)? {
                Ok(r) => self.send_result(r, false, false)?,
                Err(e) => self.send_error(&e)?,
            }
        }
        Ok(())
    }

    /// Run `sql` with LOAD DATA LOCAL's file asked of this connection's client; the
    /// transfer is finished (drained) before the caller replies.
    fn execute_local(
        &mut self,
        sql: &str,
        local_files: bool,
    ) -> Result<borealis_engine::Result<QueryResult>, Close> {
        let mut wire = WireInfile::new(&mut self.io, local_files);
        let session = self
            .session
            .as_deref_mut()
            .expect("a session is opened before the command phase");
        let r = session.execute_with_local(sql, &mut wire);
        wire.finish()?;
        Ok(r)
    }

    fn kill(&mut self, target: u32, query_only: bool) -> Result<(), Close> {
        match self.shared.kill(&self.user, target, query_only) {
            Ok(()) if target == self.id && !query_only => Err(Close::Quit),
            Ok(()) => Ok(self.send_ok(0, 0, "")?),
            Err(e) => Ok(self.send_error(&e)?),
        }
    }

    fn com_field_list(&mut self, body: &[u8]) -> Result<(), Close> {
        let (table, wildcard) = match body.iter().position(|&b| b == 0) {
            Some(i) => (&body[..i], &body[i + 1..]),
            None => (body, &[][..]),
        };
        let table = String::from_utf8_lossy(table).into_owned();
        let wildcard = String::from_utf8_lossy(wildcard).into_owned();
        match self.session().field_list(&table, &wildcard) {
            Ok(cols) => {
                for c in &cols {
                    self.io.write_packet(&msg::column_definition(c, true))?;
                }
                self.send_eof()?;
            }
            Err(e) => self.send_error(&e)?,
        }
        Ok(())
    }

    fn com_change_user(&mut self, p: &[u8]) -> Result<bool, Close> {
        let hello = msg::parse_change_user(p, self.caps).map_err(|e| {
            debug!(conn = self.id, "{e}");
            bad_handshake()
        })?;
        // The exchange continues with the scramble of the greeting, as clients expect.
        self.close_all_statements();
        self.session = None;
        self.authenticate(&hello)?;
        self.user = hello.user.clone();
        self.shared.set_user(self.id, &self.user);
        self.open_session(hello.database.as_deref())?;
        self.send_ok(0, 0, "")?;
        Ok(true)
    }

    fn com_stmt_prepare(&mut self, sql: &str) -> Result<(), Close> {
        let info = match self.session().prepare(sql) {
            Ok(i) => i,
            Err(e) => return Ok(self.send_error(&e)?),
        };
        let id = self.next_stmt;
        self.next_stmt = self.next_stmt.wrapping_add(1).max(1);
        let warnings = self.warnings();
        self.io.write_packet(&msg::prepare_ok(
            id,
            info.columns.len() as u16,
            info.param_count as u16,
            warnings,
        ))?;
        if info.param_count > 0 {
            let def = msg::param_definition();
            for _ in 0..info.param_count {
                self.io.write_packet(&def)?;
            }
            if !self.deprecate_eof() {
                let st = self.status_flags(false);
                self.io.write_packet(&msg::eof_packet(st, warnings))?;
            }
        }
        if !info.columns.is_empty() {
            for c in &info.columns {
                self.io.write_packet(&msg::column_definition(c, false))?;
            }
            if !self.deprecate_eof() {
                let st = self.status_flags(false);
                self.io.write_packet(&msg::eof_packet(st, warnings))?;
            }
        }
        self.stmts.insert(
            id,
            Stmt {
                handle: info.handle,
                param_count: info.param_count,
                columns: info.columns,
                types: None,
                long_data: vec![None; info.param_count],
            },
        );
        Ok(())
    }

    fn com_stmt_execute(&mut self, p: &[u8]) -> Result<(), Close> {
        let id = binary::stmt_id(p).unwrap_or(0);
        let Some(st) = self.stmts.get_mut(&id) else {
            return Ok(self.send_error(&unknown_stmt(id, "mysqld_stmt_execute"))?);
        };
        let parsed = binary::parse_execute(p, st.param_count, st.types.as_deref(), &st.long_data);
        st.long_data.iter_mut().for_each(|d| *d = None);
        let req = match parsed {
            Ok(r) => r,
            Err(e) => {
                debug!(conn = self.id, "COM_STMT_EXECUTE: {e}");
                let msg = match e {
                    ExecuteError::UnknownType(t) => {
                        format!("Incorrect arguments to mysqld_stmt_execute (parameter type {t})")
                    }
                    _ => "Incorrect arguments to mysqld_stmt_execute".to_string(),
                };
                return Ok(self.send_error(&Error::new(code::ER_WRONG_ARGUMENTS, msg))?);
            }
        };
        if let Some(t) = req.new_types {
            st.types = Some(t);
        }
        let handle = st.handle;
        // A cursor (flags & CURSOR_TYPE_READ_ONLY) is not opened: the whole result set is
        // sent at once without SERVER_STATUS_CURSOR_EXISTS, which clients accept.
        match self.session().execute_prepared(handle, &req.params) {
            Ok(QueryResult::Rows { columns, rows }) => {
                // The columns declared at prepare time stand in only for a result that
                // names none: no copy of them on every execution.
                let columns = if columns.is_empty() {
                    self.stmts
                        .get(&id)
                        .map(|st| st.columns.clone())
                        .unwrap_or_default()
                } else {
                    columns
                };
                self.send_result(QueryResult::Rows { columns, rows }, false, true)?;
            }
            Ok(r) => self.send_result(r, false, true)?,
            Err(e) => self.send_error(&e)?,
        }
        Ok(())
    }

    fn com_send_long_data(&mut self, p: &[u8]) {
        // No reply in any case; errors surface at execute time.
        let (Some(id), Some(param)) = (binary::stmt_id(p), p.get(5..7)) else {
            return;
        };
        let param = u16::from_le_bytes([param[0], param[1]]) as usize;
        if let Some(st) = self.stmts.get_mut(&id) {
            if let Some(slot) = st.long_data.get_mut(param) {
                slot.get_or_insert_with(Vec::new)
                    .extend_from_slice(p.get(7..).unwrap_or_default());
            }
        }
    }

    fn close_statement(&mut self, id: u32) {
        if let Some(st) = self.stmts.remove(&id) {
            self.session().close_prepared(st.handle);
        }
    }

    fn close_all_statements(&mut self) {
        let ids: Vec<u32> = self.stmts.keys().copied().collect();
        if self.session.is_some() {
            for id in ids {
                self.close_statement(id);
            }
        }
        self.stmts.clear();
    }
}

/// Whether a multi-statement text may hold LOAD DATA LOCAL (then its statements run one
/// at a time); a cheap test that never misses one.
fn may_load_local(sql: &str) -> bool {
    // Runs on every multi-statement query: no lowered copy of the text.
    let has = |word: &[u8]| {
        sql.as_bytes()
            .windows(word.len())
            .any(|w| w.eq_ignore_ascii_case(word))
    };
    has(b"local") && has(b"infile")
}

fn unknown_stmt(id: u32, what: &str) -> Error {
    Error::new(
        code::ER_UNKNOWN_STMT_HANDLER,
        format!("Unknown prepared statement handler ({id}) given to {what}"),
    )
}

/// "Rows matched: N" from an UPDATE's info string (CLIENT_FOUND_ROWS reports it).
fn rows_matched(info: &str) -> Option<u64> {
    let rest = info.strip_prefix("Rows matched: ")?;
    rest.split_whitespace().next()?.parse().ok()
}

/// `KILL [CONNECTION | QUERY] id` — handled by the server, which owns the sockets.
pub(crate) fn parse_kill(sql: &str) -> Option<(u32, bool)> {
    let s = sql.trim().trim_end_matches(';').trim();
    let mut words = s.split_whitespace();
    if !words.next()?.eq_ignore_ascii_case("kill") {
        return None;
    }
    let mut w = words.next()?;
    let mut query_only = false;
    if w.eq_ignore_ascii_case("query") {
        query_only = true;
        w = words.next()?;
    } else if w.eq_ignore_ascii_case("connection") {
        w = words.next()?;
    }
    let id = w.parse().ok()?;
    if words.next().is_some() {
        return None;
    }
    Some((id, query_only))
}

/// The error for a KILL the user may not issue.
pub(crate) fn kill_denied(id: u32) -> Error {
    Error::new(ER_KILL_DENIED, format!("You are not owner of thread {id}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn may_load_local_never_misses_the_words_in_any_case() {
        assert!(may_load_local(
            "select 1; LOAD DATA LOCAL INFILE 'f' INTO TABLE t"
        ));
        assert!(may_load_local("load data Local InFile 'f' into table t"));
        assert!(!may_load_local("SELECT 1; SELECT 'local'"));
        assert!(!may_load_local(""));
    }

    #[test]
    fn kill_statements() {
        assert_eq!(parse_kill("KILL 5"), Some((5, false)));
        assert_eq!(parse_kill("kill query 7;"), Some((7, true)));
        assert_eq!(parse_kill(" Kill Connection 9 "), Some((9, false)));
        assert_eq!(parse_kill("KILL x"), None);
        assert_eq!(parse_kill("KILL 5 6"), None);
        assert_eq!(parse_kill("SELECT 1"), None);
    }

    #[test]
    fn found_rows_from_info() {
        assert_eq!(
            rows_matched("Rows matched: 3  Changed: 1  Warnings: 0"),
            Some(3)
        );
        assert_eq!(rows_matched(""), None);
    }
}
