## Access
refused = Это закрытый бот.

## /start and /help
help =
    fleetbot управляет парком веб-аккаунтов.

    /accounts — аккаунты и их состояние
    /warmup [ВЫБОР] [ДЛИТЕЛЬНОСТЬ] — например, /warmup #morning 5m
    /upload [ВЫБОР] — подписью к видео или ответом на видео, например, /upload all
    /runs — последние запуски
    /run ID — результаты запуска, например, /run 12
    /cancel ID — остановить запуск, например, /cancel 12
    /retry ID — повторить неудачные, например, /retry 12
    /schedule ВИД КОГДА [ВЫБОР] — например, /schedule warmup "daily 09:00" all tz=Europe/Moscow
    /schedules — расписания; /unschedule ID, /pause ID, /resume ID
    /videos — очередь видео; видео с подписью /queue добавляется в неё
    /status — что выполняется сейчас
    /check МЕТКА — совпадает ли сайт аккаунта с селекторами fleetbot (только чтение)

    ВЫБОР: all, метка, метки через запятую или #тег.
    Документ с подписью /import добавляет аккаунты из CSV; /session МЕТКА задаёт сессию.

## Usage errors
usage = Использование: { $usage }
    Пример: { $example }
bad-duration = «{ $value }» — не длительность: укажите секунды или единицу, например, 90s, 5m, 1h.
bad-run-id = «{ $value }» — не номер запуска.
bad-schedule-id = «{ $value }» — не номер расписания.
unbalanced-quotes = Кавычка не закрыта: проверьте кавычки в команде.
error = ⚠️ { $message }
storage-error = ⚠️ Хранилище не работает (база данных или диск), команда не выполнена. Уже сохранённые результаты целы; повторите позже. Подробности в журнале.
storage-failing = ⚠️ Хранилище не работает: { $problem }. Уже сохранённые результаты целы; fleetbot держит несохранённое и продолжает попытки. Освободите место на диске или почините базу; когда всё заработает, придёт сообщение.
storage-recovered = ✅ Хранилище снова работает; отложенные результаты сохраняются, запуски продолжаются.
upload-needs-video = Отправьте /upload подписью к видео или ответом на видео.
video-too-big = Файл весит { $size_mb } МБ; бот скачивает не больше { $limit_mb } МБ (у публичного Bot API предел 20 МБ). Для больших файлов запустите локальный Bot API сервер, укажите bot.api_base и увеличьте bot.download_limit_mb.
video-rejected = Этот файл нельзя загрузить: { $reason }
video-stored = Видео сохранено ({ $size_mb } МБ).

## Runs
run-queued = Запуск #{ $run_id } ({ $kind }) в очереди, аккаунтов: { $total }.
progress = Запуск #{ $run_id } ({ $kind }) { $status }
    { $bar } { $settled }/{ $total }
    ✅ { $succeeded }  ❌ { $failed }  ⏱ { $elapsed }
summary-head = { $icon } Запуск #{ $run_id } ({ $kind }) { $status }: успешно { $succeeded } из { $total }, с ошибкой { $failed }, за { $duration }.
summary-failures = { $reason } ({ $count }): { $accounts }
summary-posts = Публикации:
summary-skipped = Пропущено: { $count }
btn-retry = Повторить неудачные
btn-details = Подробнее
runs-empty = Запусков пока нет.
runs-head = Последние запуски:
run-line = #{ $run_id } { $kind } { $status } { $succeeded }/{ $total } · { $created }
run-item = { $icon } { $account }{ $video }: { $status }{ $detail }
run-cancelled = Запуск #{ $run_id }: { $status }.
run-retry = Повторяю { $total } неудачных из запуска #{ $run_id } как запуск #{ $new_id }.

## Accounts
accounts-empty = Аккаунтов пока нет. Импортируйте их CSV-документом с подписью /import.
accounts-head = Аккаунты { $first }–{ $last } из { $total }:
account-line = { $icon } { $label } ({ $site }, { $username }) { $health }{ $tags }
account-resting =
    ⏸ сайт ограничил попытки: запуски пропускают аккаунт до { $until } UTC
btn-prev = ◀ Назад
btn-next = Далее ▶
import-done = Импортировано аккаунтов: { $count }: { $labels }
import-failed = Ничего не импортировано:
check-started = Проверяю { $site } с аккаунтом { $label }: только чтение, ничего не публикуется…
document-deleted = Я удалил ваш файл из чата: в нём могут быть пароли или сессия.
document-not-deleted = Не удалось удалить ваш файл: удалите его сами, в нём могут быть пароли или сессия.
session-set = Сессия { $label } задана (cookies: { $cookies }).
document-needs-caption = Отправьте документ с подписью /import (CSV аккаунтов) или /session МЕТКА.

## Status
status =
    fleetbot { $version }
    Идут запуски: { $running }
    Выполняется: { $in_flight } (параллельность { $concurrency })
    В очереди: { $pending }
    Браузер: { $browser }
    Неотправленных сообщений: { $outbox }
status-next = Ближайшие по расписанию: { $fires }
status-no-schedules = Расписаний нет.

## Schedules
schedule-line = #{ $id } { $kind } «{ $when }» { $zone } { $selector } ({ $state }); далее: { $fires }
schedule-added = Расписание добавлено: { $line }
schedule-removed = Расписание #{ $id } удалено.
schedules-empty = Расписаний нет. Пример: /schedule warmup "daily 09:00" all tz=Europe/Moscow
videos-empty = Очередь видео пуста. Отправьте видео с подписью /queue, чтобы добавить.
videos-head = Очередь видео ({ $count }):
queue-needs-video = Отправьте /queue подписью к видео.
video-queued = Видео #{ $id } в очереди, позиция { $position }.

## Human in the loop
question = Аккаунт { $account } (запуск #{ $run_id }) спрашивает: { $prompt }
    Ответьте на это сообщение.
question-answered = Спасибо, передал для { $account }.
question-expired = Здесь больше никто не ждёт ответа.
question-reply-needed = Чтобы ответить на вопрос, ответьте на его сообщение (смахните его или нажмите «Ответить»).
