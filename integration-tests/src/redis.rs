//! A real Valkey or Redis server for tests: its own free loopback port and temporary folder,
//! append-only persistence (so a killed and restarted server keeps what it had), stopped on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Errors starting a test server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// Neither binary is installed.
    #[error(
        "neither valkey-server nor redis-server is on PATH: run `bash scripts/install-test-deps.sh` (installs Debian's redis-server)"
    )]
    Missing,
    /// Starting or preparing failed.
    #[error("cannot start {0}: {1}")]
    Start(String, std::io::Error),
    /// It did not answer PING in time.
    #[error("{0} did not answer on port {1}")]
    NoAnswer(String, u16),
}

/// When the server's append-only file is flushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fsync {
    /// Before answering any write (`appendfsync always`): nothing answered is lost in a crash.
    Always,
    /// Once a second (`appendfsync everysec`, the usual production setting).
    EverySecond,
}

impl Fsync {
    fn setting(self) -> &'static str {
        match self {
            Fsync::Always => "always",
            Fsync::EverySecond => "everysec",
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct RedisServer {
    binary: PathBuf,
    fsync: Fsync,
    port: u16,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

fn find_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    ["valkey-server", "redis-server"].iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl RedisServer {
    /// Starts a server on a free loopback port, flushing to disk before answering any write.
    pub fn start() -> Result<RedisServer, ServerError> {
        RedisServer::start_with(Fsync::Always)
    }

    /// Starts a server on a free loopback port with the given flushing.
    pub fn start_with(fsync: Fsync) -> Result<RedisServer, ServerError> {
        let binary = find_binary().ok_or(ServerError::Missing)?;
        let name = binary.display().to_string();
        let dir = tempfile::tempdir().map_err(|e| ServerError::Start(name.clone(), e))?;
        let port = free_port().map_err(|e| ServerError::Start(name, e))?;
        let mut server = RedisServer {
            binary,
            fsync,
            port,
            dir,
            child: None,
        };
        server.restart()?;
        Ok(server)
    }

    /// The URL to connect to.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and folder (after [`RedisServer::kill`]).
    pub fn restart(&mut self) -> Result<(), ServerError> {
        self.kill();
        let name = self.binary.display().to_string();
        let child = Command::new(&self.binary)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                self.fsync.setting(),
            ])
            .args(["--protected-mode", "yes", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ServerError::Start(name.clone(), e))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(ServerError::NoAnswer(name, self.port))
    }

    /// CPU time the server has used since it (re)started, from `INFO cpu`.
    pub fn cpu_time(&self) -> Option<Duration> {
        let reply = self.command(b"INFO cpu\r\n")?;
        let seconds: f64 = reply
            .lines()
            .filter(|line| line.starts_with("used_cpu_sys:") || line.starts_with("used_cpu_user:"))
            .filter_map(|line| line.split_once(':')?.1.trim().parse::<f64>().ok())
            .sum();
        Some(Duration::from_secs_f64(seconds))
    }

    /// Sends one inline command and reads the answer (up to 64 KiB).
    fn command(&self, command: &[u8]) -> Option<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        stream.write_all(command).ok()?;
        let mut reply = vec![0_u8; 65_536];
        let read = stream.read(&mut reply).ok()?;
        reply.truncate(read);
        String::from_utf8(reply).ok()
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut reply = [0_u8; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
