//! Command-line pieces every binary shares: boolean flags that may also be set from the
//! environment.
//!
//! A clap `bool` flag with `env = "..."` accepts only `true`/`false` from the variable and,
//! on anything else, names the flag but not the variable the bad value came from. Give such
//! flags [`EnvBool`] as their value parser instead:
//!
//! ```
//! use clap::Parser;
//!
//! #[derive(Parser)]
//! struct Args {
//!     /// Also print quiet updates.
//!     #[arg(long, env = "DEMO_VERBOSE", value_parser = logging::cli::EnvBool)]
//!     verbose: bool,
//! }
//!
//! let args = Args::try_parse_from(["demo", "--verbose"]).unwrap();
//! assert!(args.verbose);
//! ```
//!
//! With it, `DEMO_VERBOSE` takes `1`/`0`, `true`/`false`, `yes`/`no` (also `y`/`n`, `on`/`off`,
//! any case), and `DEMO_VERBOSE=maybe` fails with
//! `DEMO_VERBOSE='maybe' is not a yes/no value (--verbose): use 1/0, true/false or yes/no`.

use std::ffi::OsStr;

use clap::builder::{BoolishValueParser, TypedValueParser};
use clap::error::ErrorKind;

/// Value parser for a boolean flag with an environment variable; see the [module docs](self).
///
/// A flag given on the command line takes no value, so a value this parser refuses always
/// came from the environment: the error names the variable first, then the flag.
#[derive(Debug, Clone, Copy, Default)]
pub struct EnvBool;

impl TypedValueParser for EnvBool {
    type Value = bool;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<bool, clap::Error> {
        BoolishValueParser::new()
            .parse_ref(cmd, arg, value)
            .map_err(|_| {
                let shown = value.to_string_lossy();
                let flag = arg
                    .and_then(clap::Arg::get_long)
                    .map(|long| format!("--{long}"));
                let var = arg
                    .and_then(clap::Arg::get_env)
                    .map(|var| var.to_string_lossy().into_owned());
                let source = match (var, flag) {
                    (Some(var), Some(flag)) => {
                        format!("{var}='{shown}' is not a yes/no value ({flag})")
                    }
                    (Some(var), None) => format!("{var}='{shown}' is not a yes/no value"),
                    (None, Some(flag)) => format!("'{shown}' for {flag} is not a yes/no value"),
                    (None, None) => format!("'{shown}' is not a yes/no value"),
                };
                clap::Error::raw(
                    ErrorKind::InvalidValue,
                    format!("{source}: use 1/0, true/false or yes/no\n"),
                )
                .with_cmd(cmd)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A built command (clap renders errors only for built arguments).
    fn command() -> clap::Command {
        let mut cmd = clap::Command::new("demo").arg(
            clap::Arg::new("verbose")
                .long("verbose")
                .env("DEMO_CLI_VERBOSE_UNSET_IN_TESTS")
                .action(clap::ArgAction::SetTrue)
                .value_parser(EnvBool),
        );
        cmd.build();
        cmd
    }

    #[test]
    fn accepts_the_usual_spellings_of_yes_and_no() {
        let cmd = command();
        let arg = cmd.get_arguments().next();
        let cases = [
            ("1", true),
            ("0", false),
            ("true", true),
            ("false", false),
            ("yes", true),
            ("no", false),
            ("YES", true),
            ("False", false),
            ("on", true),
            ("off", false),
        ];
        for (text, want) in cases {
            let got = EnvBool.parse_ref(&cmd, arg, OsStr::new(text));
            assert_eq!(got.ok(), Some(want), "{text:?}");
        }
    }

    #[test]
    fn a_bad_value_names_the_variable_and_the_flag_on_one_line() {
        let cmd = command();
        let arg = cmd.get_arguments().next();
        for text in ["maybe", "2", "tru", " yes"] {
            let err = EnvBool
                .parse_ref(&cmd, arg, OsStr::new(text))
                .expect_err(text);
            assert_eq!(err.kind(), ErrorKind::InvalidValue);
            let first = err.to_string();
            let first = first.lines().next().unwrap_or_default();
            assert_eq!(
                first,
                format!(
                    "error: DEMO_CLI_VERBOSE_UNSET_IN_TESTS='{text}' is not a yes/no value \
                     (--verbose): use 1/0, true/false or yes/no"
                )
            );
        }
    }

    #[test]
    fn the_flag_itself_still_works() {
        let on = command()
            .try_get_matches_from(["demo", "--verbose"])
            .unwrap();
        assert!(on.get_flag("verbose"));
        let off = command().try_get_matches_from(["demo"]).unwrap();
        assert!(!off.get_flag("verbose"));
    }
}
