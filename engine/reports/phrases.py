"""The HTML report's headings, captions and column names in other languages.

Keyed by the English text the page shows (English needs no table); a phrase missing
from a language's table is shown in English. ``{name}`` fields are filled by
:meth:`rapport.engine.reports.labels.Words.text`. Terms with a formula (``E − N``,
``S``) keep it as written.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "fa": {
        "{brand} report, {start} to {end}": "گزارش {brand}، {start} تا {end}",
        "Definitions: docs/reports.md. Attribution window: {days} days. "
        "Amounts in {currency}.": "تعریف‌ها: docs/reports.md. بازهٔ انتساب: {days} روز. "
        "مبلغ‌ها به {currency}.",
        "Customers": "مشتریان",
        "Stages, tiers and RFM segments": "مرحله‌ها، سطح‌ها و بخش‌های RFM",
        "Campaigns": "کارزارها",
        "Consent health": "وضعیت رضایت‌ها",
        "Feedback (NPS)": "بازخورد (NPS)",
        "A/B variants": "نسخه‌های آزمون A/B",
        "figure": "شاخص",
        "value": "مقدار",
        "retention rate": "نرخ ماندگاری",
        "churn rate": "نرخ ریزش",
        "textbook retention (E − N) ÷ S": "ماندگاری کلاسیک (E − N) ÷ S",
        "textbook churn, lost ÷ S": "ریزش کلاسیک، ازدست‌رفته ÷ S",
        "repeat purchase rate": "نرخ خرید دوباره",
        "customers ordering": "مشتریان سفارش‌دهنده",
        "orders": "سفارش‌ها",
        "revenue": "درآمد",
        "historical CLV": "ارزش طول عمر (تاریخی)",
        "predictive CLV": "ارزش طول عمر (پیش‌بینی)",
        "annual churn used by the predictive CLV": "ریزش سالانهٔ به‌کاررفته در پیش‌بینی",
        "campaign": "کارزار",
        "planned": "برنامه‌ریزی‌شده",
        "suppressed": "متوقف‌شده",
        "sent": "فرستاده‌شده",
        "failed": "ناموفق",
        "expired": "منقضی‌شده",
        "queued": "در صف",
        "unsubscribed": "لغو اشتراک",
        "converted": "منجر به خرید",
        "held out": "گروه کنترل",
        "uplift [95 % CI]": "افزایش [بازهٔ ۹۵٪]",
        "variant": "نسخه",
        "conversion": "نرخ تبدیل",
        "vs control [95 % CI]": "در برابر کنترل [بازهٔ ۹۵٪]",
        "control": "کنترل",
        "No A/B test sent messages in this period.": "در این دوره هیچ آزمون A/B پیامی نفرستاد.",
        "Difference from the control variant (listed first in the campaign file), "
        "with a 95 % Newcombe hybrid score interval.": "تفاوت با نسخهٔ کنترل (نخستین نسخهٔ "
        "پروندهٔ کارزار)، با بازهٔ ۹۵٪ نیوکامب.",
        "month": "ماه",
        "channel": "کانال",
        "topic": "موضوع",
        "opt-ins": "پذیرش‌ها",
        "opt-outs": "انصراف‌ها",
        "opt-out share": "سهم انصراف",
        "group": "گروه",
        "answers": "پاسخ‌ها",
        "promoters": "مروجان",
        "passives": "بی‌طرف‌ها",
        "detractors": "منتقدان",
        "all answers": "همهٔ پاسخ‌ها",
        "stage": "مرحله",
        "tier": "سطح",
        "{count} comments; export them with": "{count} نظر؛ برای خروجی گرفتن:",
        "Cohort retention: share of each first-order month ordering in later months": (
            "ماندگاری گروه‌ها: سهم مشتریانِ هر ماهِ نخستین سفارش که در ماه‌های بعد سفارش دادند"
        ),
        "Customers by lifecycle stage": "مشتریان بر پایهٔ مرحلهٔ چرخهٔ عمر",
        "Customers by tier": "مشتریان بر پایهٔ سطح",
        "Customers by RFM segment": "مشتریان بر پایهٔ بخش RFM",
        "Funnel per campaign: planned, sent, converted, unsubscribed": (
            "قیف هر کارزار: برنامه‌ریزی‌شده، فرستاده‌شده، منجر به خرید، لغو اشتراک"
        ),
        "Conversion uplift over the holdout, with its 95 % interval (Newcombe)": (
            "افزایش نرخ تبدیل نسبت به گروه کنترل، با بازهٔ ۹۵٪ (نیوکامب)"
        ),
        "Messages sent per day, by channel": "پیام‌های فرستاده‌شده در هر روز، به تفکیک کانال",
    },
    "zh": {
        "{brand} report, {start} to {end}": "{brand} 报告，{start} 至 {end}",
        "Definitions: docs/reports.md. Attribution window: {days} days. Amounts in {currency}.": (
            "定义：docs/reports.md。归因窗口：{days} 天。金额单位：{currency}。"
        ),
        "Customers": "客户",
        "Stages, tiers and RFM segments": "生命周期阶段、等级与 RFM 分群",
        "Campaigns": "营销活动",
        "Consent health": "同意状况",
        "Feedback (NPS)": "反馈（NPS）",
        "A/B variants": "A/B 测试版本",
        "figure": "指标",
        "value": "数值",
        "retention rate": "留存率",
        "churn rate": "流失率",
        "textbook retention (E − N) ÷ S": "标准留存率 (E − N) ÷ S",
        "textbook churn, lost ÷ S": "标准流失率，流失数 ÷ S",
        "repeat purchase rate": "复购率",
        "customers ordering": "下单客户",
        "orders": "订单",
        "revenue": "收入",
        "historical CLV": "历史客户终身价值",
        "predictive CLV": "预测客户终身价值",
        "annual churn used by the predictive CLV": "预测终身价值所用的年流失率",
        "campaign": "活动",
        "planned": "已计划",
        "suppressed": "已抑制",
        "sent": "已发送",
        "failed": "失败",
        "expired": "已过期",
        "queued": "排队中",
        "unsubscribed": "已退订",
        "converted": "已转化",
        "held out": "对照组",
        "uplift [95 % CI]": "提升 [95% 置信区间]",
        "variant": "版本",
        "conversion": "转化率",
        "vs control [95 % CI]": "相对对照版本 [95% 置信区间]",
        "control": "对照",
        "No A/B test sent messages in this period.": "此期间没有 A/B 测试发送消息。",
        "Difference from the control variant (listed first in the campaign file), "
        "with a 95 % Newcombe hybrid score interval.": "与对照版本（活动文件中列在第一位）的差异，"
        "附 95% Newcombe 混合得分区间。",
        "month": "月份",
        "channel": "渠道",
        "topic": "主题",
        "opt-ins": "订阅",
        "opt-outs": "退订",
        "opt-out share": "退订占比",
        "group": "分组",
        "answers": "回答",
        "promoters": "推荐者",
        "passives": "被动者",
        "detractors": "贬损者",
        "all answers": "全部回答",
        "stage": "阶段",
        "tier": "等级",
        "{count} comments; export them with": "{count} 条评论；导出方式：",
        "Cohort retention: share of each first-order month ordering in later months": (
            "同期群留存：各首单月份的客户在之后各月下单的比例"
        ),
        "Customers by lifecycle stage": "按生命周期阶段划分的客户",
        "Customers by tier": "按等级划分的客户",
        "Customers by RFM segment": "按 RFM 分群划分的客户",
        "Funnel per campaign: planned, sent, converted, unsubscribed": (
            "各活动漏斗：已计划、已发送、已转化、已退订"
        ),
        "Conversion uplift over the holdout, with its 95 % interval (Newcombe)": (
            "相对对照组的转化提升，附 95% 区间（Newcombe）"
        ),
        "Messages sent per day, by channel": "每日发送消息数（按渠道）",
    },
    "zh_Hant": {
        "{brand} report, {start} to {end}": "{brand} 報告，{start} 至 {end}",
        "Definitions: docs/reports.md. Attribution window: {days} days. Amounts in {currency}.": (
            "定義：docs/reports.md。歸因窗口：{days} 天。金額單位：{currency}。"
        ),
        "Customers": "客戶",
        "Stages, tiers and RFM segments": "生命週期階段、等級與 RFM 分群",
        "Campaigns": "行銷活動",
        "Consent health": "同意狀況",
        "Feedback (NPS)": "回饋（NPS）",
        "A/B variants": "A/B 測試版本",
        "figure": "指標",
        "value": "數值",
        "retention rate": "留存率",
        "churn rate": "流失率",
        "textbook retention (E − N) ÷ S": "標準留存率 (E − N) ÷ S",
        "textbook churn, lost ÷ S": "標準流失率，流失數 ÷ S",
        "repeat purchase rate": "回購率",
        "customers ordering": "下單客戶",
        "orders": "訂單",
        "revenue": "營收",
        "historical CLV": "歷史客戶終身價值",
        "predictive CLV": "預測客戶終身價值",
        "annual churn used by the predictive CLV": "預測終身價值所用的年流失率",
        "campaign": "活動",
        "planned": "已排程",
        "suppressed": "已抑制",
        "sent": "已發送",
        "failed": "失敗",
        "expired": "已過期",
        "queued": "排隊中",
        "unsubscribed": "已退訂",
        "converted": "已轉換",
        "held out": "對照組",
        "uplift [95 % CI]": "提升 [95% 信賴區間]",
        "variant": "版本",
        "conversion": "轉換率",
        "vs control [95 % CI]": "相對對照版本 [95% 信賴區間]",
        "control": "對照",
        "No A/B test sent messages in this period.": "此期間沒有 A/B 測試發送訊息。",
        "Difference from the control variant (listed first in the campaign file), "
        "with a 95 % Newcombe hybrid score interval.": "與對照版本（活動檔案中列在第一位）的差異，"
        "附 95% Newcombe 混合分數區間。",
        "month": "月份",
        "channel": "管道",
        "topic": "主題",
        "opt-ins": "訂閱",
        "opt-outs": "退訂",
        "opt-out share": "退訂占比",
        "group": "分組",
        "answers": "回答",
        "promoters": "推薦者",
        "passives": "被動者",
        "detractors": "批評者",
        "all answers": "全部回答",
        "stage": "階段",
        "tier": "等級",
        "{count} comments; export them with": "{count} 則評論；匯出方式：",
        "Cohort retention: share of each first-order month ordering in later months": (
            "同期群留存：各首單月份的客戶在之後各月下單的比例"
        ),
        "Customers by lifecycle stage": "依生命週期階段劃分的客戶",
        "Customers by tier": "依等級劃分的客戶",
        "Customers by RFM segment": "依 RFM 分群劃分的客戶",
        "Funnel per campaign: planned, sent, converted, unsubscribed": (
            "各活動漏斗：已排程、已發送、已轉換、已退訂"
        ),
        "Conversion uplift over the holdout, with its 95 % interval (Newcombe)": (
            "相對對照組的轉換提升，附 95% 區間（Newcombe）"
        ),
        "Messages sent per day, by channel": "每日發送訊息數（依管道）",
    },
    "ar": {
        "{brand} report, {start} to {end}": "تقرير {brand}، من {start} إلى {end}",
        "Definitions: docs/reports.md. Attribution window: {days} days. "
        "Amounts in {currency}.": "التعريفات: docs/reports.md. نافذة الإسناد: {days} يوم. "
        "المبالغ بعملة {currency}.",
        "Customers": "العملاء",
        "Stages, tiers and RFM segments": "المراحل والمستويات وشرائح RFM",
        "Campaigns": "الحملات",
        "Consent health": "حالة الموافقات",
        "Feedback (NPS)": "الآراء (NPS)",
        "A/B variants": "نسخ اختبار A/B",
        "figure": "المؤشر",
        "value": "القيمة",
        "retention rate": "معدل الاحتفاظ",
        "churn rate": "معدل الفقد",
        "textbook retention (E − N) ÷ S": "الاحتفاظ القياسي (E − N) ÷ S",
        "textbook churn, lost ÷ S": "الفقد القياسي، المفقودون ÷ S",
        "repeat purchase rate": "معدل تكرار الشراء",
        "customers ordering": "العملاء الذين طلبوا",
        "orders": "الطلبات",
        "revenue": "الإيرادات",
        "historical CLV": "القيمة الدائمة للعميل (تاريخية)",
        "predictive CLV": "القيمة الدائمة للعميل (تنبؤية)",
        "annual churn used by the predictive CLV": "الفقد السنوي المستخدم في التنبؤ",
        "campaign": "الحملة",
        "planned": "مخطط لها",
        "suppressed": "محجوبة",
        "sent": "مرسلة",
        "failed": "فاشلة",
        "expired": "منتهية الصلاحية",
        "queued": "قيد الانتظار",
        "unsubscribed": "إلغاء الاشتراك",
        "converted": "أدت إلى شراء",
        "held out": "المجموعة الضابطة",
        "uplift [95 % CI]": "الزيادة [فاصل 95٪]",
        "variant": "النسخة",
        "conversion": "معدل التحويل",
        "vs control [95 % CI]": "مقارنة بالنسخة الضابطة [فاصل 95٪]",
        "control": "ضابطة",
        "No A/B test sent messages in this period.": "لم يرسل أي اختبار A/B رسائل في هذه الفترة.",
        "Difference from the control variant (listed first in the campaign file), "
        "with a 95 % Newcombe hybrid score interval.": "الفرق عن النسخة الضابطة (الأولى في ملف "
        "الحملة)، مع فاصل نيوكومب 95٪.",
        "month": "الشهر",
        "channel": "القناة",
        "topic": "الموضوع",
        "opt-ins": "الاشتراكات",
        "opt-outs": "الانسحابات",
        "opt-out share": "نسبة الانسحاب",
        "group": "المجموعة",
        "answers": "الإجابات",
        "promoters": "المروجون",
        "passives": "المحايدون",
        "detractors": "المنتقدون",
        "all answers": "كل الإجابات",
        "stage": "المرحلة",
        "tier": "المستوى",
        "{count} comments; export them with": "{count} تعليقات؛ لتصديرها:",
        "Cohort retention: share of each first-order month ordering in later months": (
            "الاحتفاظ حسب الفوج: نسبة عملاء كل شهر طلب أول يطلبون في الأشهر التالية"
        ),
        "Customers by lifecycle stage": "العملاء حسب مرحلة دورة الحياة",
        "Customers by tier": "العملاء حسب المستوى",
        "Customers by RFM segment": "العملاء حسب شريحة RFM",
        "Funnel per campaign: planned, sent, converted, unsubscribed": (
            "مسار كل حملة: مخطط لها، مرسلة، أدت إلى شراء، إلغاء الاشتراك"
        ),
        "Conversion uplift over the holdout, with its 95 % interval (Newcombe)": (
            "زيادة التحويل مقارنة بالمجموعة الضابطة، مع فاصل 95٪ (نيوكومب)"
        ),
        "Messages sent per day, by channel": "الرسائل المرسلة يوميًا حسب القناة",
    },
}

#: Phrases whose words change with the count they hold, per language: CLDR's plural
#: category (``one``, ``two``, ``few``, ``many``, ``other``, ...) -> the phrase. A
#: category a language lacks here falls back to its :data:`PHRASES` entry (English:
#: the key itself). Persian and Chinese nouns do not change after a number.
_WINDOW = "Definitions: docs/reports.md. Attribution window: {days} days. Amounts in {currency}."
_COMMENTS = "{count} comments; export them with"
PLURALS: dict[str, dict[str, dict[str, str]]] = {
    "en": {
        _WINDOW: {
            "one": "Definitions: docs/reports.md. Attribution window: {days} day. "
            "Amounts in {currency}."
        },
        _COMMENTS: {"one": "{count} comment; export it with"},
    },
    "ar": {
        _WINDOW: {
            form: f"التعريفات: docs/reports.md. نافذة الإسناد: {days}. المبالغ بعملة {{currency}}."
            for form, days in (
                ("one", "يوم واحد"),
                ("two", "يومان"),
                ("few", "{days} أيام"),
                ("many", "{days} يومًا"),
            )
        },
        _COMMENTS: {
            form: f"{comments}؛ لتصديرها:"
            for form, comments in (
                ("one", "تعليق واحد"),
                ("two", "تعليقان"),
                ("few", "{count} تعليقات"),
                ("many", "{count} تعليقًا"),
                ("other", "{count} تعليق"),
            )
        },
    },
}
