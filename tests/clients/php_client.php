<?php
// PHP's mysqlnd drivers against a Borealis server: mysqli (text queries, server-side
// prepared statements with every bind type, get_result, multi_query, transactions,
// errors as exceptions with code and SQLSTATE) and PDO (native and emulated prepares).
//
// Usage: php php_client.php PORT PASSWORD   (prints "php: all checks passed")

function check($cond, $what) {
    if (!$cond) { echo "FAILED: $what\n"; exit(1); }
}

[$_, $port, $pw] = $argv;
$port = (int)$port;
mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
$m = new mysqli("127.0.0.1", "root", $pw, "", $port);
$m->set_charset("utf8mb4");
check($m->character_set_name() === "utf8mb4", "set_charset");
$m->query("CREATE DATABASE phpt");
$m->select_db("phpt");
$m->query("CREATE TABLE t (id INT PRIMARY KEY AUTO_INCREMENT, name VARCHAR(20), "
    . "price DECIMAL(8,2), b BLOB, d DATETIME(3), f DOUBLE, bi BIT(4))");

$st = $m->prepare("INSERT INTO t (name, price, b, d, f, bi) VALUES (?, ?, ?, ?, ?, ?)");
$name = "ünï"; $price = "12.50"; $blob = "\x00\xff\x01"; $d = "2024-01-02 03:04:05.678";
$f = 1.25; $bi = 5;
$st->bind_param("ssssdi", $name, $price, $blob, $d, $f, $bi);
$st->execute();
check($m->insert_id === 1 && $st->affected_rows === 1, "insert id and affected rows");

$row = $m->query("SELECT id, name, price, HEX(b) h, d, f, bi + 0 n FROM t")->fetch_assoc();
check($row === ["id" => "1", "name" => "ünï", "price" => "12.50", "h" => "00FF01",
    "d" => "2024-01-02 03:04:05.678", "f" => "1.25", "n" => "5"], "text row " . json_encode($row));

$st = $m->prepare("SELECT id, name, price, b, d, f FROM t WHERE id = ?");
$id = 1;
$st->bind_param("i", $id);
$st->execute();
$row = $st->get_result()->fetch_assoc();
check($row === ["id" => 1, "name" => "ünï", "price" => "12.50", "b" => "\x00\xff\x01",
    "d" => "2024-01-02 03:04:05.678", "f" => 1.25], "binary row " . json_encode($row));

// mysqlnd reads a BIT column's bytes as its number, in both protocols.
check($m->query("SELECT bi FROM t")->fetch_row()[0] === "5", "BIT over text");

$m->begin_transaction();
$m->query("INSERT INTO t (name) VALUES ('rolled back')");
$m->rollback();
check($m->query("SELECT COUNT(*) FROM t")->fetch_row()[0] === "1", "rollback");

$sets = [];
$m->multi_query("SELECT 1 AS a; SELECT 'two' AS b");
do {
    if ($res = $m->store_result()) { $sets[] = $res->fetch_all(MYSQLI_ASSOC); $res->free(); }
} while ($m->more_results() && $m->next_result());
check($sets === [[["a" => "1"]], [["b" => "two"]]], "multi_query " . json_encode($sets));

try {
    $m->query("SELECT * FROM nosuch");
    check(false, "error expected");
} catch (mysqli_sql_exception $e) {
    check($e->getCode() === 1146 && $e->getSqlState() === "42S02", "error code and state");
}

$pdo = new PDO("mysql:host=127.0.0.1;port=$port;dbname=phpt;charset=utf8mb4", "root", $pw,
    [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION, PDO::ATTR_EMULATE_PREPARES => false]);
$s = $pdo->prepare("SELECT id, name FROM t WHERE name = :n");
$s->execute([":n" => "ünï"]);
check($s->fetchAll(PDO::FETCH_ASSOC) === [["id" => 1, "name" => "ünï"]], "PDO native prepare");
$pdo->beginTransaction();
$pdo->exec("UPDATE t SET price = price + 1");
$pdo->commit();
check($pdo->query("SELECT price FROM t")->fetchColumn() === "13.50", "PDO transaction");
try {
    $pdo->exec("INSERT INTO t (id) VALUES (1)");
    check(false, "duplicate key expected");
} catch (PDOException $e) {
    check($e->getCode() === "23000" && $e->errorInfo[1] === 1062, "PDO duplicate key");
}
$emu = new PDO("mysql:host=127.0.0.1;port=$port;dbname=phpt", "root", $pw,
    [PDO::ATTR_EMULATE_PREPARES => true]);
$s = $emu->prepare("SELECT ? + 1 AS x, ? AS s");
$s->execute([41, "it's"]);
check($s->fetch(PDO::FETCH_ASSOC) == ["x" => 42, "s" => "it's"], "PDO emulated prepare");

echo "php: all checks passed\n";
