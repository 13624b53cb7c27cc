<?php
require_once __DIR__ . '/../../../core/php/core.inc.php';

function enphasesecur_install() {
	enphasesecur::encryptSecrets();
	enphasesecur::linkPackage();
}

function enphasesecur_update() {
	enphasesecur::encryptSecrets();
	enphasesecur::linkPackage();
	enphasesecur::writeDaemonConfig();
}

function enphasesecur_remove() {
	enphasesecur::deamon_stop();
	if (file_exists(enphasesecur::configFile())) {
		unlink(enphasesecur::configFile());
	}
}
