"""A sample catalogue of common procedures with plausible fees, for trying the system. Marked as
sample data: a city replaces it with its own fee ordinance."""

from __future__ import annotations

# (code, name_ja, name_en)
DEPARTMENTS = (
    ("citizens", "市民課", "Citizens Division"),
    ("taxation", "税務課", "Taxation Division"),
    ("building", "建築住宅課", "Building and Housing Division"),
    ("environment", "環境生活課", "Environment and Living Division"),
    ("planning", "都市計画課", "Urban Planning Division"),
)

# (code, name_ja, name_en, department, fee in yen)
PROCEDURES = (
    ("residence-cert", "住民票の写し", "Certificate of residence (copy)", "citizens", 300),
    (
        "residence-entries",
        "住民票記載事項証明書",
        "Certificate of resident register entries",
        "citizens",
        300,
    ),
    ("koseki-full", "戸籍謄本", "Family register, full copy", "citizens", 450),
    ("koseki-extract", "戸籍抄本", "Family register, extract", "citizens", 450),
    ("koseki-removed", "除籍謄本", "Removed family register, copy", "citizens", 750),
    ("koseki-original", "改製原戸籍謄本", "Family register before revision, copy", "citizens", 750),
    ("koseki-annex", "戸籍の附票の写し", "Family register annex (copy)", "citizens", 300),
    ("status-cert", "身分証明書", "Certificate of legal status", "citizens", 300),
    ("seal-cert", "印鑑登録証明書", "Seal registration certificate", "citizens", 300),
    ("seal-card-reissue", "印鑑登録証の再交付", "Seal registration card, reissue", "citizens", 300),
    (
        "acceptance-cert",
        "届出受理証明書",
        "Certificate of acceptance of a notification",
        "citizens",
        350,
    ),
    (
        "notification-entries",
        "届書記載事項証明書",
        "Certificate of notification entries",
        "citizens",
        350,
    ),
    (
        "register-inspection",
        "住民基本台帳の閲覧",
        "Inspection of the resident register",
        "citizens",
        300,
    ),
    (
        "temporary-vehicle",
        "自動車臨時運行許可",
        "Temporary vehicle operation permit",
        "citizens",
        750,
    ),
    ("income-cert", "所得・課税証明書", "Income and tax assessment certificate", "taxation", 300),
    ("tax-exempt-cert", "非課税証明書", "Tax exemption certificate", "taxation", 300),
    ("tax-paid-cert", "納税証明書", "Tax payment certificate", "taxation", 300),
    (
        "property-valuation",
        "固定資産評価証明書",
        "Fixed asset valuation certificate",
        "taxation",
        300,
    ),
    (
        "property-ledger",
        "固定資産課税台帳の閲覧",
        "Inspection of the fixed asset tax ledger",
        "taxation",
        300,
    ),
    ("property-by-owner", "名寄帳の写し", "Property register by owner (copy)", "taxation", 300),
    (
        "housing-cert",
        "住宅用家屋証明書",
        "Housing certificate for registration tax",
        "building",
        1_300,
    ),
    (
        "building-ledger-cert",
        "建築確認台帳記載事項証明書",
        "Building confirmation ledger certificate",
        "building",
        400,
    ),
    ("dog-registration", "犬の登録", "Dog registration", "environment", 3_000),
    ("rabies-tag", "狂犬病予防注射済票の交付", "Rabies vaccination tag", "environment", 550),
    (
        "bulky-waste",
        "粗大ごみ処理手数料",
        "Oversized waste collection (per item)",
        "environment",
        500,
    ),
    ("zoning-cert", "都市計画証明書", "Urban planning certificate", "planning", 300),
)
