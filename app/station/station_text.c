#include "station_text.h"

#include <stdlib.h>
#include <string.h>

static const struct st_text english = {
    .title = "jiashu",
    .start = "Type your family number, then Enter",
    .teacher_hint = "* Teacher",
    .clear_hint = "# Clear",
    .pin = "Family %u: type your PIN, then Enter",
    .refused = "Wrong number or PIN",
    .wait = "Please wait %d s",
    .count_new = "New messages: %d",
    .none_new = "No new messages",
    .key_play = "1 Play new",
    .key_record = "2 Record reply",
    .key_again = "3 Play again",
    .key_leave = "* Leave",
    .from = "From %s",
    .bedtime = "Bedtime letter from %s",
    .paused = "Paused (speed %d%%)",
    .speed = "Speed %d%%",
    .play_pause = "5 Pause / go on",
    .play_back = "4 Back 5 s",
    .play_again = "1 From the start",
    .play_next = "6 Next",
    .play_speed = "3 Speed",
    .play_stop = "Other keys: stop",
    .playing = "Playing %d of %d",
    .stop_hint = "Any key: stop",
    .recording = "Recording... %d s",
    .record_hint = "Enter or 2: stop and send",
    .sent = "Sent",
    .nothing_new = "No new messages",
    .nothing_yet = "Nothing to play again",
    .failed = "Did not work: %s",
    .added = "Family %u added",
    .pin_mismatch = "The two PINs differ",
    .pin_short = "A PIN has 4 to 8 digits",
    .saved = "Saved",
    .bad_time = "Not a time: type HHMM",
    .busy = "Please wait...",
    .teacher_pin = "Teacher: type your PIN, then Enter",
    .menu_add = "1 Add a family",
    .menu_list = "2 Families",
    .menu_quiet = "3 Quiet hours",
    .menu_quota = "4 Storage quota",
    .menu_voice = "5 Spoken prompts",
    .voice = "Spoken prompts: 0 off, 1 slow, 2 normal, 3 fast",
    .voice_names = {"off", "slow", "normal", "fast"},
    .menu_leave = "* Leave",
    .code = "Add a family: type the invite code, then Enter",
    .newpin = "PIN for the new family (4-8 digits), then Enter",
    .newpin_again = "The same PIN again, then Enter",
    .list_head = "No.    Storage  Last sync    New",
    .never = "never",
    .list_empty = "No families yet",
    .list_hint = "# More   * Back",
    .quiet_start = "Quiet hours start (HHMM), then Enter",
    .quiet_end = "Quiet hours end (HHMM), then Enter",
    .quiet_now = "Now: %s",
    .quiet_off = "none",
    .quota = "Storage quota in MB (0: none), then Enter",
    .quota_now = "Now: %lld MB",
    .quota_none = "Now: none",
    .quiet_badge = "Quiet hours",
    .full_badge = "Storage full",
    .too_small = "Screen too small",
    .review = "Your reply is not sent yet",
    .review_listen = "1 Listen",
    .review_again = "2 Record again",
    .review_send = "3 Send",
    .review_discard = "* Throw away",
    .discard_ask = "* again: throw it away. Any other key: keep it",
    .discarded = "Thrown away",
};

static const struct st_text chinese = {
    .title = "家书",
    .start = "输入家庭号码，按确认键",
    .teacher_hint = "* 老师",
    .clear_hint = "# 清除",
    .pin = "%u 号家庭：输入密码，按确认键",
    .refused = "号码或密码不对",
    .wait = "请等 %d 秒",
    .count_new = "%d 条新消息",
    .none_new = "没有新消息",
    .key_play = "1 听新消息",
    .key_record = "2 录音回复",
    .key_again = "3 再听一遍",
    .key_leave = "* 离开",
    .from = "来自 %s",
    .bedtime = "%s 的睡前家书",
    .paused = "已暂停（速度 %d%%）",
    .speed = "速度 %d%%",
    .play_pause = "5 暂停 / 接着听",
    .play_back = "4 退回 5 秒",
    .play_again = "1 从头听",
    .play_next = "6 下一条",
    .play_speed = "3 速度",
    .play_stop = "其他键：停止",
    .playing = "正在播放 第 %d 条，共 %d 条",
    .stop_hint = "按任意键停止",
    .recording = "正在录音… %d 秒",
    .record_hint = "按确认键或 2：停止并发送",
    .sent = "已发送",
    .nothing_new = "没有新消息",
    .nothing_yet = "还没有可以重听的消息",
    .failed = "出错了：%s",
    .added = "已添加 %u 号家庭",
    .pin_mismatch = "两次密码不一样",
    .pin_short = "密码是 4 到 8 位数字",
    .saved = "已保存",
    .bad_time = "时间不对：请输入时时分分",
    .busy = "请稍候…",
    .teacher_pin = "老师：输入密码，按确认键",
    .menu_add = "1 添加家庭",
    .menu_list = "2 家庭列表",
    .menu_quiet = "3 安静时段",
    .menu_quota = "4 存储配额",
    .menu_voice = "5 语音提示",
    .voice = "语音提示：0 关，1 慢，2 正常，3 快",
    .voice_names = {"关", "慢", "正常", "快"},
    .menu_leave = "* 离开",
    .code = "添加家庭：输入邀请码，按确认键",
    .newpin = "新家庭的密码（4 到 8 位），按确认键",
    .newpin_again = "再输一次密码，按确认键",
    .list_head = "号码   存储     上次同步     新",
    .never = "从未",
    .list_empty = "还没有家庭",
    .list_hint = "# 下一页   * 返回",
    .quiet_start = "安静时段开始（时时分分），按确认键",
    .quiet_end = "安静时段结束（时时分分），按确认键",
    .quiet_now = "现在：%s",
    .quiet_off = "无",
    .quota = "存储配额（MB，0 为不限），按确认键",
    .quota_now = "现在：%lld MB",
    .quota_none = "现在：不限",
    .quiet_badge = "安静时段",
    .full_badge = "存储已满",
    .too_small = "屏幕太小",
    .review = "回复还没有发出",
    .review_listen = "1 听一遍",
    .review_again = "2 重录",
    .review_send = "3 发送",
    .review_discard = "* 删除",
    .discard_ask = "再按 * 删除，按其他键保留",
    .discarded = "已删除",
};

enum st_lang st_text_lang_for(const char *locale_name)
{
    return locale_name && strncmp(locale_name, "zh", 2) == 0 ? ST_LANG_ZH : ST_LANG_EN;
}

const struct st_text *st_text_get(enum st_lang lang)
{
    return lang == ST_LANG_ZH ? &chinese : &english;
}

void st_text_fill(char *buf, size_t size, const char *tmpl, const char *a, const char *b)
{
    const char *args[2] = {a ? a : "", b ? b : ""};
    size_t used = 0;
    int next = 0;

    if (!size)
        return;
    for (const char *p = tmpl; *p && used + 1 < size; p++) {
        /* "%d", "%u", "%s", "%lld": any conversion takes the next argument. */
        if (p[0] == '%' && p[1] && p[1] != '%') {
            const char *arg = next < 2 ? args[next++] : "";
            size_t len = strlen(arg);
            while (p[1] == 'l')
                p++;
            p++;
            if (len > size - 1 - used)
                len = size - 1 - used;
            memcpy(buf + used, arg, len);
            used += len;
            continue;
        }
        if (p[0] == '%' && p[1] == '%')
            p++;
        buf[used++] = *p;
    }
    buf[used] = '\0';
}
