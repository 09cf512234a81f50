from hypothesis import given
from hypothesis import strategies as st

from drivers.masking import mask_address, mask_id_number, mask_name, mask_phone


def test_masking_examples_from_the_design():
    assert mask_name("张三丰") == "张*丰"
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳晓雯") == "欧**雯"
    assert mask_id_number("51190219800101123X") == "5119**********123X"
    assert mask_phone("13800000000") == "138****0000"
    assert mask_address("四川省示例市巴州区江北街道") == "四川省示例市*******"


@given(st.text(alphabet="0123456789X", min_size=15, max_size=18))
def test_masked_number_never_keeps_the_middle(number):
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    assert masked[4:-4] == "*" * (len(number) - 8)
