//! Serves the example with spring-web: `PUSHER_KEY=app-key PUSHER_SECRET=app-secret cargo run
//! -p spring-minimal`, on `127.0.0.1:3005` (spring reads `config/app.toml` when there is one).

use pusher_auth_axum::prelude::Credentials;
use spring::App;
use spring_web::WebPlugin;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let credentials = Credentials::from_env()?;
    let mut app = App::new();
    app.use_config_str("[web]\nbinding = \"127.0.0.1\"\nport = 3005\n")
        .add_plugin(WebPlugin);
    spring_minimal::register(&mut app, credentials).run().await;
    Ok(())
}
