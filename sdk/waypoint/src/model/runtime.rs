//! Finding and loading the ONNX Runtime shared library.
//!
//! Waypoint never downloads anything at run time. The library comes from the pinned
//! `onnxruntime` wheel that the set-up command (`python3 models/fetch.py`) fetches, verifies
//! by sha256 and extracts into the git-ignored cache `.cache/waypoint/`. The library is
//! looked up in this order:
//!
//! 1. an explicit path given to [`Runtime::init`] (the builder option);
//! 2. the `ORT_DYLIB_PATH` environment variable;
//! 3. the cache: `$WAYPOINT_CACHE_DIR/onnxruntime/`, then `.cache/waypoint/onnxruntime/`
//!    in the current directory and each of its ancestors.
//!
//! ONNX Runtime allows one environment per process, so the first successful
//! [`Runtime::init`] wins and later calls return the same runtime.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};

/// Environment variable naming the ONNX Runtime shared library explicitly.
pub const ORT_DYLIB_PATH_ENV: &str = "ORT_DYLIB_PATH";
/// Environment variable overriding the set-up cache directory.
pub const CACHE_DIR_ENV: &str = "WAYPOINT_CACHE_DIR";
/// The command that fetches and verifies the runtime library.
pub const SETUP_COMMAND: &str = "python3 models/fetch.py";

/// Errors finding or starting ONNX Runtime.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No library was found in any of the places searched.
    #[error(
        "ONNX Runtime shared library not found (searched: {searched}). Run `{SETUP_COMMAND}` from the \
         Waypoint repository root to fetch and verify it, or set {ORT_DYLIB_PATH_ENV} to a \
         libonnxruntime shared library"
    )]
    NotFound {
        /// Every place that was searched, in order.
        searched: String,
    },
    /// A library was found but could not be loaded.
    #[error("cannot load ONNX Runtime from {path}: {source}")]
    Load {
        /// The library that failed to load.
        path: PathBuf,
        /// The loader's error.
        #[source]
        source: ort::LoadDynamicError,
    },
    /// The library loaded but the runtime environment could not be created.
    #[error("cannot start ONNX Runtime from {path}: {source}")]
    Environment {
        /// The library that was loaded.
        path: PathBuf,
        /// The runtime's error.
        #[source]
        source: ort::Error,
    },
}

/// Errors creating a session for one model file.
#[derive(Debug, thiserror::Error)]
#[error("cannot load ONNX model {path}: {source}")]
pub struct SessionError {
    /// The model file.
    pub path: PathBuf,
    /// The runtime's error.
    #[source]
    pub source: ort::Error,
}

/// A loaded ONNX Runtime: cheap to clone, shared by every model in the process.
#[derive(Clone)]
pub struct Runtime {
    environment: Environment,
    library: PathBuf,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("library", &self.library)
            .finish_non_exhaustive()
    }
}

static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

impl Runtime {
    /// Loads ONNX Runtime, or returns the runtime already loaded in this process.
    ///
    /// `explicit` is the builder option; `None` falls back to `ORT_DYLIB_PATH` and the cache.
    pub fn init(explicit: Option<&Path>) -> Result<Runtime, RuntimeError> {
        let mut slot = RUNTIME
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(runtime) = slot.as_ref() {
            return Ok(runtime.clone());
        }
        let library = locate_library(explicit)?;
        let library = std::path::absolute(&library).unwrap_or(library);
        let builder = ort::init_from(&library).map_err(|source| RuntimeError::Load {
            path: library.clone(),
            source,
        })?;
        let environment =
            builder
                .with_name("waypoint")
                .build()
                .map_err(|source| RuntimeError::Environment {
                    path: library.clone(),
                    source,
                })?;
        let runtime = Runtime {
            environment,
            library,
        };
        *slot = Some(runtime.clone());
        Ok(runtime)
    }

    /// The shared library this runtime was loaded from.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// Opens a model file as a single-threaded, fully optimised session.
    ///
    /// One intra-op thread keeps scoring from competing with the game for cores; callers batch
    /// instead.
    pub fn session(&self, model: &Path) -> Result<Session, SessionError> {
        self.commit(model, |builder| builder.commit_from_file(model))
    }

    /// Like [`Runtime::session`], from a model's bytes already read (and checked) by the
    /// caller, so the session runs exactly the bytes that were verified. `origin` names the
    /// file in errors.
    pub fn session_from_bytes(&self, bytes: &[u8], origin: &Path) -> Result<Session, SessionError> {
        self.commit(origin, |builder| builder.commit_from_memory(bytes))
    }

    /// Configures a session builder the one way every model is run, then commits it.
    fn commit(
        &self,
        origin: &Path,
        commit: impl FnOnce(&mut SessionBuilder) -> ort::Result<Session>,
    ) -> Result<Session, SessionError> {
        let wrap = |source: ort::Error| SessionError {
            path: origin.to_path_buf(),
            source,
        };
        let mut builder = Session::builder(&self.environment)
            .map_err(wrap)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(|e| wrap(e.into()))?
            .with_intra_threads(1)
            .map_err(|e| wrap(e.into()))?
            .with_inter_threads(1)
            .map_err(|e| wrap(e.into()))?;
        commit(&mut builder).map_err(wrap)
    }
}

/// Checks a model's interface: exactly `inputs` (in any order) and an output named `output`.
/// The error is a sentence for the caller's own contract error.
pub fn check_interface(session: &Session, inputs: &[&str], output: &str) -> Result<(), String> {
    let mut have: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
    let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
    let mut want = inputs.to_vec();
    have.sort_unstable();
    want.sort_unstable();
    if have != want {
        return Err(format!("inputs are {have:?}, expected {want:?}"));
    }
    if !outputs.contains(&output) {
        return Err(format!("outputs are {outputs:?}, expected {output:?}"));
    }
    Ok(())
}

/// Finds the library without loading it, following the documented search order.
pub fn locate_library(explicit: Option<&Path>) -> Result<PathBuf, RuntimeError> {
    locate_in(
        explicit,
        std::env::var_os(ORT_DYLIB_PATH_ENV).map(PathBuf::from),
        cache_dirs(),
    )
}

fn locate_in(
    explicit: Option<&Path>,
    from_env: Option<PathBuf>,
    cache_dirs: Vec<PathBuf>,
) -> Result<PathBuf, RuntimeError> {
    let mut searched = Vec::new();
    if let Some(path) = explicit {
        if path.is_file() {
            return Ok(path.to_path_buf());
        }
        searched.push(format!("builder option {}", path.display()));
    }
    if let Some(path) = from_env {
        if path.is_file() {
            return Ok(path);
        }
        searched.push(format!("{ORT_DYLIB_PATH_ENV}={}", path.display()));
    }
    for dir in cache_dirs {
        let runtime_dir = dir.join("onnxruntime");
        if let Some(found) = find_library_in(&runtime_dir) {
            return Ok(found);
        }
        searched.push(runtime_dir.display().to_string());
    }
    Err(RuntimeError::NotFound {
        searched: searched.join(", "),
    })
}

/// The set-up cache directories, in search order: `$WAYPOINT_CACHE_DIR`, then
/// `.cache/waypoint` in the current directory and each ancestor.
pub fn cache_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os(CACHE_DIR_ENV) {
        dirs.push(PathBuf::from(dir));
    }
    if let Ok(cwd) = std::env::current_dir() {
        dirs.extend(
            cwd.ancestors()
                .map(|a| a.join(".cache").join("waypoint"))
                .filter(|d| d.is_dir()),
        );
    }
    dirs
}

fn find_library_in(dir: &Path) -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| {
            path.is_file()
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|name| {
                        name.starts_with("libonnxruntime.so")
                            || name.starts_with("libonnxruntime.") && name.ends_with(".dylib")
                            || name == "onnxruntime.dll"
                    })
        })
        .collect();
    candidates.sort();
    candidates.pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_found_names_every_place_and_the_fix() {
        let empty_cache = tempfile::tempdir().expect("tempdir");
        let err = locate_in(
            Some(Path::new("/nonexistent/libonnxruntime.so")),
            Some(PathBuf::from("/also/missing.so")),
            vec![empty_cache.path().to_path_buf()],
        )
        .expect_err("nothing to find");
        let message = err.to_string();
        assert!(message.contains(SETUP_COMMAND), "{message}");
        assert!(
            message.contains("/nonexistent/libonnxruntime.so"),
            "{message}"
        );
        assert!(
            message.contains("ORT_DYLIB_PATH=/also/missing.so"),
            "{message}"
        );
        assert!(
            message.contains(&empty_cache.path().display().to_string()),
            "{message}"
        );
    }

    #[test]
    fn search_order_is_option_then_env_then_cache() {
        let dir = tempfile::tempdir().expect("tempdir");
        let explicit = dir.path().join("explicit.so");
        let env = dir.path().join("env.so");
        let cache = dir.path().join("cache");
        std::fs::create_dir_all(cache.join("onnxruntime")).expect("mkdir");
        std::fs::write(cache.join("onnxruntime").join("libonnxruntime.so.1"), b"").expect("write");
        std::fs::write(&explicit, b"").expect("write");
        std::fs::write(&env, b"").expect("write");
        let caches = vec![cache.clone()];
        assert_eq!(
            locate_in(Some(&explicit), Some(env.clone()), caches.clone()).ok(),
            Some(explicit)
        );
        assert_eq!(
            locate_in(None, Some(env.clone()), caches.clone()).ok(),
            Some(env)
        );
        assert_eq!(
            locate_in(None, None, caches).ok(),
            Some(cache.join("onnxruntime").join("libonnxruntime.so.1"))
        );
    }

    #[test]
    fn library_is_found_in_a_cache_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(find_library_in(dir.path()).is_none());
        std::fs::write(dir.path().join("libonnxruntime.so.1.32.0"), b"").expect("write");
        std::fs::write(dir.path().join("README"), b"").expect("write");
        assert_eq!(
            find_library_in(dir.path()),
            Some(dir.path().join("libonnxruntime.so.1.32.0"))
        );
    }
}
