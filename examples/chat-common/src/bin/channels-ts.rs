//! Writes the TypeScript declarations of the chat's channels (`static/channels.d.ts`) to
//! standard output: `cargo run -p chat-common --bin channels-ts > examples/chat-common/static/channels.d.ts`.

fn main() {
    print!("{}", chat_common::channels::typescript());
}
