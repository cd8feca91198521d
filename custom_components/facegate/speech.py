"""What FaceGate says to Assist, in English and Simplified Chinese.

Intent answers are spoken text, not UI strings, so Home Assistant's translation files do not
cover them; each language here has every key (a test checks).
"""

from typing import Final

SPEECH: Final[dict[str, dict[str, str]]] = {
    "en": {
        "nobody": "Nobody is at the {door}.",
        "seen_now": "At the {door} just now: {who}.",
        "seen": "At the {door}: {who}, seen {ago} seconds ago.",
        "who_unknown": "someone I don't recognise",
        "who_resident": "a resident",
        "unlocked": "The {door} is unlocked.",
        "refused": "The {door} stays locked: {reason}.",
        "no_door": "I don't know a door called {door}.",
        "reason_voice_disabled": "unlocking by voice is off for this door",
        "reason_voice_second_factor_needed": (
            "say the PIN with the request, or stand in front of the door's camera first"
        ),
        "reason_unknown_credential": "that code is not valid here",
        "reason_too_many_failures": "too many wrong attempts, try again later",
        "reason_locked_out": "too many wrong attempts, try again later",
        "reason_mode_disabled": "this way in is off for your household",
        "reason_second_factor_needed": "your household needs a second way in as well",
        "reason_no_face_consent": "face recognition needs your consent first",
        "reason_other": "not allowed",
    },
    "zh-Hans": {
        "nobody": "{door}没有人。",
        "seen_now": "{door}刚才：{who}。",
        "seen": "{door}：{who}，{ago}秒前看到。",
        "who_unknown": "一位不认识的人",
        "who_resident": "一位住户",
        "unlocked": "{door}已开锁。",
        "refused": "{door}保持锁定：{reason}。",
        "no_door": "找不到名为{door}的门。",
        "reason_voice_disabled": "这扇门没有开启语音开锁",
        "reason_voice_second_factor_needed": "请同时说出密码，或先让门口的摄像头认出您",
        "reason_unknown_credential": "密码无效",
        "reason_too_many_failures": "错误次数过多，请稍后再试",
        "reason_locked_out": "错误次数过多，请稍后再试",
        "reason_mode_disabled": "您的住户已关闭这种开门方式",
        "reason_second_factor_needed": "您的住户还需要第二种开门方式",
        "reason_no_face_consent": "人脸识别需要您先同意",
        "reason_other": "不允许",
    },
}


def language_of(language: str | None) -> str:
    """The answer language for a request: Chinese variants get Simplified Chinese."""
    return "zh-Hans" if (language or "").lower().startswith("zh") else "en"


def say(language: str | None, key: str, *, default: str = "", **values: str) -> str:
    """The sentence for a key in the request's language, with its values filled in."""
    texts = SPEECH[language_of(language)]
    return texts.get(key, texts.get(default, key)).format(**values)
