//! Runs HTTP transport tests on each runtime the transports support: reqwest's blocking client,
//! and (with the `tokio` feature) async reqwest on a real multi-threaded tokio runtime that the
//! test body runs inside, as a tokio game server would start its engine.

/// Defines each `fn name() { .. }` as `blocking::name`, and with the `tokio` feature also as
/// `on_tokio::name`, whose body runs inside a tokio runtime context so that every sender,
/// exporter and engine it starts picks `HttpRuntime::Tokio`.
macro_rules! on_each_http_runtime {
    ($(fn $name:ident() $body:block)*) => {
        mod blocking {
            #[allow(unused_imports, reason = "each test uses a different subset")]
            use super::*;
            $(
                #[test]
                fn $name() {
                    assert!(!waypoint::HttpRuntime::current().is_tokio());
                    $body
                }
            )*
        }

        #[cfg(feature = "tokio")]
        mod on_tokio {
            #[allow(unused_imports, reason = "each test uses a different subset")]
            use super::*;
            $(
                #[test]
                #[allow(clippy::expect_used, reason = "a test without a runtime cannot run")]
                fn $name() {
                    let runtime = tokio::runtime::Builder::new_multi_thread()
                        .worker_threads(2)
                        .enable_all()
                        .build()
                        .expect("a tokio runtime for the test");
                    let _inside = runtime.enter();
                    assert!(waypoint::HttpRuntime::current().is_tokio());
                    $body
                }
            )*
        }
    };
}
