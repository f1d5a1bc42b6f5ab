//! The page is checked against the Rust channel definitions: the declarations written today
//! type-check the page's script, and a payload field renamed in Rust (not in the page) fails
//! the check with the compiler naming the field. Needs the TypeScript compiler pinned in
//! `tests/js` (`scripts/install-test-tools`); fails when it is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Type-checks the page's script against `declarations`, in a folder of its own; the
/// compiler's output when it fails.
fn check(declarations: &str) -> Result<(), String> {
    let root = root();
    let tsc = root.join("tests/js/node_modules/typescript/bin/tsc");
    let pusher_js = root.join("tests/js/node_modules/pusher-js/index.d.ts");
    assert!(
        tsc.exists() && pusher_js.exists(),
        "the TypeScript compiler and pusher-js are not installed in tests/js: run scripts/install-test-tools"
    );
    let dir = std::env::temp_dir().join(format!(
        "page-types-{}-{}",
        std::process::id(),
        declarations.len()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let statics = root.join("examples/chat-common/static");
    for file in ["chat.js", "globals.d.ts"] {
        std::fs::copy(statics.join(file), dir.join(file)).unwrap();
    }
    std::fs::write(dir.join("channels.d.ts"), declarations).unwrap();
    let config = serde_json::json!({
        "compilerOptions": {
            "allowJs": true, "checkJs": true, "noEmit": true, "strict": true,
            "target": "es2022", "lib": ["es2022", "dom"], "module": "esnext",
            "moduleResolution": "bundler", "types": [],
            "baseUrl": ".", "paths": { "pusher-js": [pusher_js] }
        },
        "files": ["chat.js", "channels.d.ts", "globals.d.ts"]
    });
    std::fs::write(dir.join("tsconfig.json"), config.to_string()).unwrap();
    let output = Command::new("node")
        .arg(&tsc)
        .arg("-p")
        .arg(dir.join("tsconfig.json"))
        .output()
        .expect("node is installed (scripts/install-test-tools)");
    let _ = std::fs::remove_dir_all(&dir);
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stdout).into_owned())
    }
}

#[test]
fn the_page_fits_the_definitions_and_a_renamed_field_does_not() {
    let real = chat_common::channels::typescript();
    // The copy below stays the chat's definitions but for that one change: the same channel
    // names and the same declarations.
    let outline = |ts: &str| -> Vec<String> {
        ts.lines()
            .filter(|l| l.starts_with("export "))
            .map(|l| l.split(['=', '<', '{']).next().unwrap_or(l).to_owned())
            .chain(
                ts.lines()
                    .filter(|l| l.starts_with("export type ChannelName"))
                    .map(str::to_owned),
            )
            .collect()
    };
    assert_eq!(
        outline(&renamed::typescript()),
        outline(&real),
        "the renamed copy drifted from chat_common::channels"
    );
    check(&real).unwrap_or_else(|e| panic!("the page does not fit: {e}"));
    let errors = check(&renamed::typescript()).expect_err("a renamed field must fail the check");
    assert!(
        errors.contains("Property 'name' does not exist on type 'Message'"),
        "{errors}"
    );
}

/// The chat's definitions with one change: `Message::name` renamed `sender` in Rust.
mod renamed {
    use pusher_protocol::channel::{Channel, Encrypted, NoEvents, Presence, Private};
    use serde::{Deserialize, Serialize};
    use ts_rs::TS;

    #[derive(Serialize, Deserialize, TS)]
    pub(crate) struct Message {
        pub(crate) sender: String,
        pub(crate) message: String,
    }

    #[derive(Serialize, Deserialize, TS)]
    #[serde(tag = "event", content = "data")]
    pub(crate) enum ChatEvent {
        #[serde(rename = "send-message")]
        SendMessage(Message),
    }

    #[derive(Serialize, Deserialize, TS)]
    #[serde(tag = "event", content = "data")]
    pub(crate) enum UserEvent {
        #[serde(rename = "whisper")]
        Whisper(Message),
    }

    #[derive(Serialize, Deserialize, TS)]
    pub(crate) struct MemberInfo {
        pub(crate) name: String,
    }

    macro_rules! unit_channel {
        ($name:ident, $kind:ty, $event:ty) => {
            #[derive(Serialize, Deserialize, TS)]
            pub(crate) struct $name;
            impl Channel for $name {
                type Kind = $kind;
                const PATTERN: &'static str = "chat";
                type Event = $event;
                type ClientEvent = NoEvents;
            }
        };
    }

    unit_channel!(ChatChannel, Private, ChatEvent);
    unit_channel!(EncryptedChatChannel, Encrypted, ChatEvent);
    unit_channel!(PresenceChatChannel, Presence<MemberInfo>, NoEvents);

    #[derive(Serialize, Deserialize, TS)]
    pub(crate) struct RoomChannel {
        pub(crate) id: u32,
    }

    impl Channel for RoomChannel {
        type Kind = Private;
        const PATTERN: &'static str = "room.{id}";
        type Event = ChatEvent;
        type ClientEvent = NoEvents;
    }

    pub(crate) fn typescript() -> String {
        pusher_protocol::channel::typescript::Declarations::new()
            .channel::<ChatChannel>()
            .channel::<EncryptedChatChannel>()
            .channel::<PresenceChatChannel>()
            .channel::<RoomChannel>()
            .user_events::<UserEvent>()
            .to_typescript()
    }
}
