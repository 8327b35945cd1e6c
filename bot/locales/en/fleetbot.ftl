## Access
refused = This bot is private.

## /start and /help
help =
    fleetbot runs a fleet of web accounts.

    /accounts — the accounts and their health
    /warmup [SELECTOR] [DURATION] — e.g. /warmup #morning 5m
    /upload [SELECTOR] — as a video's caption or a reply to one, e.g. /upload all
    /runs — recent runs
    /run ID — one run's outcomes, e.g. /run 12
    /cancel ID — stop a run, e.g. /cancel 12
    /retry ID — run the failed items again, e.g. /retry 12
    /schedule KIND WHEN [SELECTOR] — e.g. /schedule warmup "daily 09:00" all tz=Europe/Moscow
    /schedules — the schedules; /unschedule ID, /pause ID, /resume ID
    /videos — the upload queue; a video captioned /queue joins it
    /status — what is running now
    /check LABEL — does the account's site still match fleetbot's selectors (read-only)

    SELECTOR is all, a label, labels separated by commas, or #tag.
    A document with the caption /import adds accounts from a CSV; /session LABEL sets a session.

## Usage errors
usage = Usage: { $usage }
    Example: { $example }
bad-duration = “{ $value }” is not a duration: use seconds or a unit, e.g. 90s, 5m, 1h.
bad-run-id = “{ $value }” is not a run number.
bad-schedule-id = “{ $value }” is not a schedule number.
unbalanced-quotes = A quote is not closed: check the command's quotes.
error = ⚠️ { $message }
storage-error = ⚠️ Storage is failing (the database or the disk), so this did not complete. Results already stored are safe; try again in a while. The log says what failed.
storage-failing = ⚠️ Storage is failing: { $problem }. Results already stored are safe; fleetbot holds what it has not stored yet and keeps retrying. Free disk space or fix the database; you will be told when it works again.
storage-recovered = ✅ Storage works again; held results are being stored and runs go on.
upload-needs-video = Send /upload as the caption of a video, or reply to a video with /upload.
video-too-big = That file is { $size_mb } MB; this bot downloads at most { $limit_mb } MB (the public Bot API's limit is 20 MB). For bigger files run a local Bot API server, set bot.api_base and raise bot.download_limit_mb.
video-rejected = That file cannot be uploaded: { $reason }
video-stored = Video stored ({ $size_mb } MB).

## Runs
run-queued = Run #{ $run_id } ({ $kind }) queued for { $total } accounts.
progress = Run #{ $run_id } ({ $kind }) { $status }
    { $bar } { $settled }/{ $total }
    ✅ { $succeeded }  ❌ { $failed }  ⏱ { $elapsed }
summary-head = { $icon } Run #{ $run_id } ({ $kind }) { $status }: { $succeeded } of { $total } succeeded, { $failed } failed in { $duration }.
summary-failures = { $reason } ({ $count }): { $accounts }
summary-posts = Posts:
summary-skipped = Skipped: { $count }
btn-retry = Retry failed
btn-details = Details
runs-empty = No runs yet.
runs-head = Recent runs:
run-line = #{ $run_id } { $kind } { $status } { $succeeded }/{ $total } · { $created }
run-item = { $icon } { $account }{ $video }: { $status }{ $detail }
run-cancelled = Run #{ $run_id } is { $status }.
run-retry = Retrying { $total } failed items of run #{ $run_id } as run #{ $new_id }.

## Accounts
accounts-empty = No accounts yet. Import them with a CSV document captioned /import.
accounts-head = Accounts { $first }–{ $last } of { $total }:
account-line = { $icon } { $label } ({ $site }, { $username }) { $health }{ $tags }
account-resting =
    ⏸ rate-limited by the site: skipped by runs until { $until } UTC
btn-prev = ◀ Back
btn-next = Next ▶
import-done = Imported { $count } accounts: { $labels }
import-failed = Nothing was imported:
check-started = Checking { $site } with { $label }: read-only, nothing is posted…
document-deleted = I deleted your file from the chat: it may hold passwords or a session.
document-not-deleted = I could not delete your file: delete it yourself, it may hold passwords or a session.
session-set = Session of { $label } set ({ $cookies } cookies).
document-needs-caption = Send a document with the caption /import (accounts CSV) or /session LABEL.

## Status
status =
    fleetbot { $version }
    Running runs: { $running }
    Items in flight: { $in_flight } (concurrency { $concurrency })
    Queued items: { $pending }
    Browser: { $browser }
    Outbox: { $outbox } unsent
status-next = Next scheduled: { $fires }
status-no-schedules = No schedules.

## Schedules
schedule-line = #{ $id } { $kind } “{ $when }” { $zone } { $selector } ({ $state }); next: { $fires }
schedule-added = Scheduled: { $line }
schedule-removed = Schedule #{ $id } removed.
schedules-empty = No schedules yet. Example: /schedule warmup "daily 09:00" all tz=Europe/Moscow
videos-empty = The upload queue is empty. Send a video with the caption /queue to add one.
videos-head = Upload queue ({ $count }):
queue-needs-video = Send /queue as the caption of a video.
video-queued = Video #{ $id } queued at position { $position }.

## Human in the loop
question = Account { $account } (run #{ $run_id }) asks: { $prompt }
    Reply to this message with the answer.
question-answered = Thanks, sent to { $account }.
question-expired = Nobody is waiting for an answer here any more.
question-reply-needed = To answer a question, reply to its message (swipe it or tap Reply).
