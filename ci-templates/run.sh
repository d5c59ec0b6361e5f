#!/usr/bin/env sh
# One b24-conform run for a CI job: the GitHub action (action.yml) and the GitLab job
# (ci-templates/gitlab/b24-conform.gitlab-ci.yml) both call this script, and tests/templates.rs
# runs it through each of them. It writes into B24_REPORT_DIR:
#   junit.xml   JUnit XML for the CI's test-report view
#   report.md   the Markdown report (a pull-request comment, GitHub's job summary)
#   report.txt  the human report (printed to the job log too) and, beside it,
#               b24-conform-bodies/ (the files its curl commands read)
# and exits as `b24-conform run` does: 0 when no case failed (warnings allowed) or every failure
# is a known one in the baseline; 1 for a failure not in it (or an entry past its `expires`);
# 2 bad usage; 3 the run could not happen (the handler never listened, …).
#
# Settings, from the environment:
#   B24_HANDLER       the handler's URL (required), or builtin:reference[?fault=NAME]
#   B24_HANDLER_CMD   the command that starts the handler (--handler-cmd); empty: already running
#   B24_INSTALL_URL   the app's installation URL (--install-url); empty: no installation
#   B24_BASELINE      a baseline file of accepted failures (--baseline), used when it exists
#   B24_ARGS          more `run` options, as shell words (e.g. --portal-tls --filter 'options/*')
#   B24_REPORT_DIR    where the reports go (default b24-conform-report)
#   B24_SUMMARY       a file the Markdown report is appended to (GitHub: $GITHUB_STEP_SUMMARY)
#   B24_CONFORM       the b24-conform binary (default: b24-conform on PATH)
set -u
: "${B24_HANDLER:?set B24_HANDLER to the handler URL (or builtin:reference)}"
bin=${B24_CONFORM:-b24-conform}
dir=${B24_REPORT_DIR:-b24-conform-report}
mkdir -p "$dir"
# A report left by an earlier run in the same directory must never be taken for this run's.
rm -rf "$dir/junit.xml" "$dir/report.md" "$dir/report.txt" "$dir/b24-conform-bodies"

set -- run --handler "$B24_HANDLER" --format human --out "$dir/report.txt" \
    --report "junit=$dir/junit.xml" --report "markdown=$dir/report.md"
if [ -n "${B24_HANDLER_CMD:-}" ]; then
    set -- "$@" --handler-cmd "$B24_HANDLER_CMD"
fi
if [ -n "${B24_INSTALL_URL:-}" ]; then
    set -- "$@" --install-url "$B24_INSTALL_URL"
fi
if [ -n "${B24_BASELINE:-}" ]; then
    if [ -f "$B24_BASELINE" ]; then
        set -- "$@" --baseline "$B24_BASELINE"
    else
        echo "b24-conform: no baseline file $B24_BASELINE, so every failure fails the job; record today's with:" >&2
        echo "  b24-conform run … --baseline $B24_BASELINE --baseline-update" >&2
    fi
fi
# eval: B24_ARGS is written as on a command line, quotes included ('options/*' must reach the
# harness unexpanded); it comes from the pipeline's own configuration.
eval "set -- \"\$@\" ${B24_ARGS:-}"

"$bin" "$@"
code=$?
[ -f "$dir/report.txt" ] && cat "$dir/report.txt"
if [ -n "${B24_SUMMARY:-}" ]; then
    if [ -s "$dir/report.md" ]; then
        cat "$dir/report.md" >>"$B24_SUMMARY"
    else
        printf '## b24-conform could not run (exit %s)\n\nNo report was written: the job log says why.\n' "$code" >>"$B24_SUMMARY"
    fi
fi
exit "$code"
