"""A force's portfolio of deployed products: what each deployment is to the force, importing and
exporting it as a spreadsheet, the alerts a product's changes send to every force that deploys
it, and the concentration of the estate on products, suppliers and fourth parties."""
