"""WeChat's limits on a push, and how WeChat measures text against them."""

MAX_ARTICLES = 8
TITLE_MAX = 32  # characters (older pages said 64: the stricter one holds)
AUTHOR_MAX = 16
DIGEST_MAX = 128
CONTENT_MAX_CHARS = 20_000  # content must stay *under* both of these
CONTENT_MAX_BYTES = 1024 * 1024
SOURCE_URL_MAX_BYTES = 1024
BODY_IMAGE_MAX_BYTES = 1_000_000  # media/uploadimg: "under 1 MB"; 10^6 is the stricter reading
COVER_MAX_BYTES = 10 * 1024 * 1024  # material/add_material image: 10 MB


def wechat_len(text: str) -> int:
    """Length as WeChat's editor counts it: UTF-16 units, so an emoji counts twice.

    A Chinese character is one; counting code units is the stricter reading and
    never lets through a title WeChat would cut.
    """
    return len(text.encode("utf-16-le")) // 2
