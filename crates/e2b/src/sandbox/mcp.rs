//! Starting a sandbox's MCP gateway: the command line the official SDKs run
//! after creating a sandbox with an MCP configuration.

use std::io;

use serde::Serialize as _;
use serde_json::ser::Formatter;

use crate::git::quote;

/// The template used when a sandbox has an MCP configuration and no
/// template is named.
///
/// # Example
///
/// ```
/// assert_eq!(e2b::DEFAULT_MCP_TEMPLATE, "mcp-gateway");
/// ```
pub const DEFAULT_MCP_TEMPLATE: &str = "mcp-gateway";

/// JSON the way Python's `json.dumps` writes it by default: `", "` and
/// `": "` separators and non-ASCII characters escaped as `\uXXXX`, so that
/// the command line is the one the official SDK runs.
struct PythonJson;

impl Formatter for PythonJson {
    fn begin_array_value<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_key<W: ?Sized + io::Write>(&mut self, writer: &mut W, first: bool) -> io::Result<()> {
        if first { Ok(()) } else { writer.write_all(b", ") }
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, writer: &mut W) -> io::Result<()> {
        writer.write_all(b": ")
    }

    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        for c in fragment.chars() {
            if c.is_ascii() {
                writer.write_all(&[c as u8])?;
            } else {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    write!(writer, "\\u{unit:04x}")?;
                }
            }
        }
        Ok(())
    }
}

fn python_json(value: &serde_json::Value) -> String {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonJson);
    // Serializing a `Value` into memory cannot fail.
    let _ = value.serialize(&mut serializer);
    String::from_utf8(out).unwrap_or_default()
}

/// `mcp-gateway --config '<json>'`.
pub(crate) fn gateway_command(config: &serde_json::Value) -> String {
    format!("mcp-gateway --config {}", quote(&python_json(config)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_command_line_matches_the_official_sdk() {
        // Python: f"mcp-gateway --config {shlex.quote(json.dumps(mcp))}"
        let config = json!({"github": {"token": "it's"}, "list": [1, "é😀"]});
        assert_eq!(
            gateway_command(&config),
            r#"mcp-gateway --config '{"github": {"token": "it'"'"'s"}, "list": [1, "\u00e9\ud83d\ude00"]}'"#
        );
        assert_eq!(gateway_command(&json!({})), "mcp-gateway --config '{}'");
    }
}
