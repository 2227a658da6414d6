//! The sections of the policy file that configure the later stages — `[referral]`,
//! `[telemetry]` and `[store]` — each with its own validation. They sit below `policy`, which
//! reads them as part of the file, and below `referral`, `telemetry` and `store`, which use
//! them and re-export them.

pub mod referral;
pub mod store;
pub mod telemetry;
