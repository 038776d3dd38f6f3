"""Synthetic Japanese and foreign names with katakana readings (never real persons).

Family names are the common surnames of Japan with weights roughly proportional to their frequency
(public statistics about names, not data about anyone); given names are pools per sex and generation
(older women's names in 〜子, newer ones like 陽葵). A person's name is a random combination.
Kanji and kana names put ONE full-width space between family and given name.
"""

from __future__ import annotations

from typing import Final

from juki.synth.draw import Draw, Weighted

__all__ = [
    "FAMILY",
    "FOREIGN",
    "IVS_FAMILY",
    "SEP",
    "ForeignPool",
    "family_other_than",
    "given_pool",
    "with_pua",
]

SEP: Final = "\u3000"  # the one full-width space between family and given name

Name = tuple[str, str]  # (kanji, kana)


def _parse(text: str, weighted: bool) -> list[tuple[Name, int]]:
    out: list[tuple[Name, int]] = []
    for rank, entry in enumerate(text.split()):
        parts = entry.split(":")
        weight = int(parts[2]) if weighted else max(1, 400 // (rank + 4))
        out.append(((parts[0], parts[1]), weight))
    return out


_FAMILY_TEXT: Final = """
佐藤:サトウ:187 鈴木:スズキ:180 高橋:タカハシ:142 田中:タナカ:134 伊藤:イトウ:108 渡辺:ワタナベ:107
山本:ヤマモト:107 中村:ナカムラ:105 小林:コバヤシ:104 加藤:カトウ:89 吉田:ヨシダ:83 山田:ヤマダ:81
佐々木:ササキ:68 山口:ヤマグチ:64 松本:マツモト:62 井上:イノウエ:61 木村:キムラ:57 林:ハヤシ:55
斎藤:サイトウ:55 清水:シミズ:54 山崎:ヤマザキ:48 森:モリ:47 池田:イケダ:44 橋本:ハシモト:44 阿部:アベ:44
石川:イシカワ:43 山下:ヤマシタ:42 中島:ナカジマ:41 石井:イシイ:40 小川:オガワ:40 前田:マエダ:39
岡田:オカダ:39 長谷川:ハセガワ:39 藤田:フジタ:38 後藤:ゴトウ:37 近藤:コンドウ:37 村上:ムラカミ:36
遠藤:エンドウ:35 青木:アオキ:35 坂本:サカモト:34 斉藤:サイトウ:34 福田:フクダ:34 太田:オオタ:33
西村:ニシムラ:33 藤井:フジイ:32 金子:カネコ:32 岡本:オカモト:32 藤原:フジワラ:32 中野:ナカノ:31
三浦:ミウラ:31 原田:ハラダ:31 中川:ナカガワ:31 松田:マツダ:30 竹内:タケウチ:30 小野:オノ:30
田村:タムラ:30 中山:ナカヤマ:29 和田:ワダ:29 石田:イシダ:28 森田:モリタ:28 上田:ウエダ:28 原:ハラ:27
内田:ウチダ:27 柴田:シバタ:27 酒井:サカイ:27 宮崎:ミヤザキ:27 横山:ヨコヤマ:26 高木:タカギ:26
安藤:アンドウ:26 宮本:ミヤモト:25 大野:オオノ:25 小島:コジマ:25 谷口:タニグチ:25 今井:イマイ:24
工藤:クドウ:24 高田:タカダ:24 増田:マスダ:24 丸山:マルヤマ:23 杉山:スギヤマ:23 村田:ムラタ:23
大塚:オオツカ:23 新井:アライ:23 小山:コヤマ:22 平野:ヒラノ:22 藤本:フジモト:22 河野:コウノ:22
上野:ウエノ:22 野口:ノグチ:22 武田:タケダ:21 松井:マツイ:21 千葉:チバ:21 岩崎:イワサキ:21
菅原:スガワラ:21 木下:キノシタ:21 久保:クボ:21 佐野:サノ:20 野村:ノムラ:20 松尾:マツオ:20
市川:イチカワ:20 菊地:キクチ:20 杉本:スギモト:19 古川:フルカワ:19 大西:オオニシ:19 島田:シマダ:19
水野:ミズノ:19 桜井:サクライ:19 高野:タカノ:19 渡部:ワタナベ:18 吉川:ヨシカワ:18 山内:ヤマウチ:18
西田:ニシダ:18 飯田:イイダ:18 菊池:キクチ:18 西川:ニシカワ:18 小松:コマツ:18 北村:キタムラ:18
安田:ヤスダ:17 五十嵐:イガラシ:17 川口:カワグチ:17 平田:ヒラタ:17 関:セキ:17 中田:ナカタ:17
久保田:クボタ:17 東:アズマ:16 服部:ハットリ:16 川村:カワムラ:16 岩田:イワタ:16 土屋:ツチヤ:16
川崎:カワサキ:16 福島:フクシマ:16 本田:ホンダ:16 辻:ツジ:15 樋口:ヒグチ:15 秋山:アキヤマ:15
田口:タグチ:15 永井:ナガイ:15 山中:ヤマナカ:15 中西:ナカニシ:15 吉村:ヨシムラ:15 川上:カワカミ:15
大橋:オオハシ:15 石原:イシハラ:15 松岡:マツオカ:15 浅野:アサノ:14 荒木:アラキ:14 大久保:オオクボ:14
野田:ノダ:14 小池:コイケ:14 内藤:ナイトウ:14 熊谷:クマガイ:14 須藤:スドウ:14 松下:マツシタ:14
黒田:クロダ:14 大谷:オオタニ:14 尾崎:オザキ:13 望月:モチヅキ:13 鶴田:ツルタ:8 小田切:オダギリ:6
"""

# Given names per sex and generation: born before 1960, 1960–1994, from 1995 (first = most common).
_MALE_TEXT: Final = (
    """清:キヨシ 茂:シゲル 博:ヒロシ 実:ミノル 勇:イサム 進:ススム 正:タダシ 明:アキラ 和夫:カズオ 武:タケシ
    修:オサム 隆:タカシ 勝:マサル 弘:ヒロシ 豊:ユタカ 正夫:マサオ 秀夫:ヒデオ 幸男:ユキオ 健一:ケンイチ
    誠:マコト 一郎:イチロウ 三郎:サブロウ 義雄:ヨシオ 哲也:テツヤ 昭:アキラ""",
    """誠:マコト 大輔:ダイスケ 健太:ケンタ 翔太:ショウタ 拓也:タクヤ 直樹:ナオキ 浩二:コウジ 健一:ケンイチ
    達也:タツヤ 和也:カズヤ 哲也:テツヤ 剛:ツヨシ 学:マナブ 聡:サトシ 亮:リョウ 大介:ダイスケ 秀樹:ヒデキ
    隆之:タカユキ 雄一:ユウイチ 洋平:ヨウヘイ 裕太:ユウタ 智也:トモヤ
    淳:ジュン 修平:シュウヘイ 一樹:カズキ""",
    """蓮:レン 陽翔:ハルト 湊:ミナト 悠真:ユウマ 大翔:ヒロト 蒼:アオイ 樹:イツキ 悠人:ユウト 颯太:ソウタ
    陽太:ヨウタ 翔:ショウ 大和:ヤマト 結翔:ユイト 律:リツ 朝陽:アサヒ 海斗:カイト 拓海:タクミ 翼:ツバサ
    健太:ケンタ 涼太:リョウタ 駿:シュン 颯:ハヤテ 碧:アオイ 奏太:カナタ 陸:リク""",
)
_FEMALE_TEXT: Final = (
    """幸子:サチコ 節子:セツコ 和子:カズコ 洋子:ヨウコ 恵子:ケイコ 京子:キョウコ 久美子:クミコ 美智子:ミチコ
    悦子:エツコ 信子:ノブコ 文子:フミコ 順子:ジュンコ 弘子:ヒロコ 良子:ヨシコ 千代子:チヨコ 静子:シズコ
    清子:キヨコ 敏子:トシコ 芳子:ヨシコ 昭子:アキコ 照子:テルコ 春江:ハルエ
    ハル:ハル キヨ:キヨ 富美子:フミコ""",
    """陽子:ヨウコ 裕子:ユウコ 智子:トモコ 直美:ナオミ 由美子:ユミコ 真由美:マユミ 明美:アケミ 恵美:エミ
    愛:アイ 美穂:ミホ 香織:カオリ 麻衣:マイ 彩:アヤ 沙織:サオリ 恵:メグミ 奈緒:ナオ 瞳:ヒトミ 舞:マイ
    里美:サトミ 由佳:ユカ 久美子:クミコ 綾:アヤ 理恵:リエ 千尋:チヒロ 友美:トモミ""",
    """陽葵:ヒマリ 凛:リン 結菜:ユイナ 芽依:メイ さくら:サクラ 葵:アオイ 紬:ツムギ 結衣:ユイ 美咲:ミサキ
    陽菜:ヒナ 澪:ミオ 莉子:リコ 心春:コハル 杏:アン 花:ハナ 美月:ミヅキ 七海:ナナミ 彩花:アヤカ 楓:カエデ
    愛莉:アイリ 咲良:サクラ ひなた:ヒナタ 詩:ウタ 琴音:コトネ 実桜:ミオ""",
)

FAMILY: Final[Weighted[Name]] = Weighted(_parse(_FAMILY_TEXT, weighted=True))
_GIVEN: Final[dict[tuple[str, int], Weighted[Name]]] = {
    **{("1", g): Weighted(_parse(t, weighted=False)) for g, t in enumerate(_MALE_TEXT)},
    **{("2", g): Weighted(_parse(t, weighted=False)) for g, t in enumerate(_FEMALE_TEXT)},
}

#: Family names written with a Moji_Joho IVS (base kanji + variation selector U+E0100..): the IVS
#: selects a registered glyph variant and is inside the project's repertoire (not 外字).
IVS_FAMILY: Final[tuple[Name, ...]] = (
    ("渡\u9089\U000e0101", "ワタナベ"),
    ("渡\u9089\U000e0102", "ワタナベ"),
    ("渡\u9089\U000e0104", "ワタナベ"),
    ("渡\u908a\U000e0101", "ワタナベ"),
    ("\u9f4b\U000e0101藤", "サイトウ"),
    ("\u9f4a\U000e0101藤", "サイトウ"),
)


def given_pool(sex: str, birth_year: int) -> Weighted[Name]:
    """The given-name pool for a sex ("1"/"2") and a year of birth."""
    generation = 0 if birth_year < 1960 else 1 if birth_year < 1995 else 2
    return _GIVEN[(sex, generation)]


def family_other_than(draw: Draw, kanji: str) -> Name:
    """A family name whose kanji differs from ``kanji`` (e.g. a maiden name)."""
    while True:
        name = FAMILY.pick(draw)
        if name[0] != kanji:
            return name


def with_pua(kanji: str, draw: Draw) -> str:
    """``kanji`` with its first character replaced by a 外字: a Private Use Area code point
    (U+E000..U+E0FF) standing for a registered glyph (e.g. a variant of that kanji)."""
    return chr(0xE000 + draw.below(256)) + kanji[1:]


class ForeignPool:
    """Names of one group of foreign residents (kanji or alphabet text, katakana reading)."""

    __slots__ = ("families", "given")

    def __init__(self, families: str, male: str, female: str) -> None:
        self.families = _names(families)
        self.given = {"1": _names(male), "2": _names(female)}


def _names(text: str) -> list[Name]:
    return [(kanji.replace("_", " "), kana) for (kanji, kana), _ in _parse(text, weighted=False)]


# Alphabet names are written as in the residence card; a space inside the given name is a plain one
# ("VAN_AN" below), and the reading uses the 中黒 between its parts.
_FOREIGN_SPEC: Final[tuple[tuple[int, str, str, str], ...]] = (
    (
        35,
        "王:ワン 李:リ 張:ジャン 劉:リウ 陳:チェン 楊:ヤン 趙:ジャオ 黄:ホアン 周:ジョウ 呉:ウー",
        "偉:ウェイ 強:チアン 磊:レイ 軍:ジュン 勇:ヨン 浩:ハオ 洋:ヤン 明:ミン",
        "芳:ファン 敏:ミン 静:ジン 麗:リー 艶:イエン 秀英:シウイン 紅:ホン 雪:シュエ",
    ),
    (
        17,
        "NGUYEN:グエン TRAN:チャン LE:レ PHAM:ファム HOANG:ホアン VU:ヴー",
        "VAN_AN:ヴァン・アン DUC_MINH:ドゥック・ミン VAN_HUNG:ヴァン・フン QUANG_HUY:クアン・フイ",
        "THI_HOA:ティ・ホア THI_LAN:ティ・ラン THI_MAI:ティ・マイ NGOC_ANH:ゴック・アイン",
    ),
    (
        13,
        "金:キム 李:イ 朴:パク 崔:チェ 鄭:チョン 姜:カン",
        "民俊:ミンジュン 成浩:ソンホ 東賢:ドンヒョン 在元:ジェウォン",
        "智恩:ジウン 美英:ミヨン 英姫:ヨンヒ 恩静:ウンジョン",
    ),
    (
        10,
        "SANTOS:サントス REYES:レイエス CRUZ:クルス GARCIA:ガルシア BAUTISTA:バウティスタ",
        "JOHN_PAUL:ジョン・ポール MARK_ANTHONY:マーク・アンソニー JOSE:ホセ",
        "MARIA_CRISTINA:マリア・クリスティナ ANGELICA:アンジェリカ JOY:ジョイ",
    ),
    (
        6,
        "SILVA:シルバ OLIVEIRA:オリベイラ SOUZA:ソウザ PEREIRA:ペレイラ",
        "LUCAS:ルーカス GABRIEL:ガブリエル RAFAEL:ハファエル",
        "ANA_CLARA:アナ・クララ JULIANA:ジュリアナ BEATRIZ:ベアトリス",
    ),
    (
        5,
        "GURUNG:グルン TAMANG:タマン SHRESTHA:シュレスタ RAI:ライ",
        "RAM:ラム BISHAL:ビシャル SURESH:スレシュ",
        "SITA:シタ ANJALI:アンジャリ PUJA:プジャ",
    ),
    (
        14,
        "SMITH:スミス JOHNSON:ジョンソン BROWN:ブラウン MILLER:ミラー WILSON:ウィルソン",
        "JAMES:ジェームズ MICHAEL:マイケル DAVID:デイビッド DANIEL:ダニエル",
        "EMILY:エミリー SARAH:サラ JESSICA:ジェシカ OLIVIA:オリビア",
    ),
)

FOREIGN: Final[Weighted[ForeignPool]] = Weighted([(ForeignPool(f, m, w), n) for n, f, m, w in _FOREIGN_SPEC])
