//! Putting the game and the integration together.

use bevy_app::App;
use waypoint::{Engine, SimulatedClock};

use crate::game::GamePlugin;
use crate::integration::WaypointIntegration;
use crate::personas::Script;

/// Builds the app: the game, and the Waypoint integration when an engine is given.
pub fn build_app(
    script: &Script,
    seed: u64,
    clock: SimulatedClock,
    engine: Option<Engine>,
    human: Option<(usize, Option<String>)>,
) -> App {
    let mut app = App::new();
    app.add_plugins(GamePlugin {
        script: script.clone(),
        seed,
        clock,
        human: human.as_ref().map(|h| h.0),
        human_locale: human.and_then(|h| h.1),
    });
    if let Some(engine) = engine {
        app.add_plugins(WaypointIntegration { engine });
    }
    app.finish();
    app.cleanup();
    app
}
