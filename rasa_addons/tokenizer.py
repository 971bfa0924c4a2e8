"""Jieba tokens of the text with traditional Chinese characters read as simplified ones.

The training data is written in simplified characters; a learner from Hong Kong or Taiwan
writes 我想申請退費. Jieba segments the folded text (kb_index.lang.to_simplified, as the KB's
search does) and each token keeps its offsets in the original, so the message text, and every
entity and slot value taken from it, stays as the learner wrote it; only what the
featurizers count is folded.

config.yml::

    - name: rasa_addons.tokenizer.SimplifiedJiebaTokenizer
"""

from __future__ import annotations

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from kb_index.lang import to_simplified


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class SimplifiedJiebaTokenizer(JiebaTokenizer):
    def tokenize(self, message: Message, attribute: str) -> list[Token]:
        import jieba

        text = message.get(attribute)
        folded = to_simplified(text)
        # the fold maps character to character; should a phrase ever change length, the
        # offsets would not fit, so such a text is tokenized as written
        source = folded if len(folded) == len(text) else text
        tokens = [Token(word, start) for word, start, _ in jieba.tokenize(source)]
        return self._apply_token_pattern(tokens)
