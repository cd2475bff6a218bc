"""The docs' Korean/English styling script (nbs/_quarto.yml) tags prose, never equations or code: run it in a real
browser on a page shaped like Quarto's output."""
import yaml

from conftest import ROOT
from browser import browser  # noqa: F401  (fixture)

SCRIPT = yaml.safe_load((ROOT/'nbs'/'_quarto.yml').read_text(encoding='utf-8'))['format']['html']['include-after-body']['text']
PAGE = """<html><body><main>
<p id="ko">배치 정규화는 미니배치의 평균과 분산으로 각 특성을 정규화한 뒤, 학습되는 스케일과 이동으로 되돌립니다.</p>
<p id="en">Batch normalization normalizes each feature with the mini-batch mean and variance, then applies a learned scale and shift.</p>
<p id="eq"><span class="math display">\\[\\hat x = \\frac{x - \\mu_B}{\\sqrt{\\sigma_B^2 + \\epsilon}}, \\quad y = \\gamma \\hat x + \\beta \\quad \\text{with the batch mean and variance}\\]</span></p>
<p id="eq_en">The output is <span class="math inline">\\(\\gamma \\hat x + \\beta\\)</span>, where the scale and the shift are learned during training like weights.</p>
<pre><code>print("no styling inside code blocks at all, whatever the words")</code></pre>
</main>%s</body></html>"""


def test_display_equations_keep_the_normal_style(browser, tmp_path):
    page = browser.new_page()
    (tmp_path/'p.html').write_text(PAGE % SCRIPT, encoding='utf-8')
    page.goto((tmp_path/'p.html').as_uri())
    cls = {i: page.get_attribute(f'#{i}', 'class') or '' for i in ('ko', 'en', 'eq', 'eq_en')}
    assert 'bi-ko' in cls['ko'] and 'bi-en' in cls['en'], cls
    assert 'bi-en' not in cls['eq'] and 'bi-ko' not in cls['eq'], cls     # an equation alone: no language styling
    assert 'bi-en' in cls['eq_en'], cls                                     # prose around inline math still counts
